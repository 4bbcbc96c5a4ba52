"""Token, position and token-type embeddings."""

from __future__ import annotations

import keras
import tensorflow as tf

from warmseq.configs.spec import TransformerSpec
from warmseq.tf.layers import Embedding, LayerNorm, Linear


class Embeddings(keras.layers.Layer):
    def __init__(self, spec: TransformerSpec, **kw) -> None:
        super().__init__(**kw)
        self.spec = spec
        width, std = spec.embedding_width, spec.initializer_range
        self.tokens = Embedding(spec.vocab_size, width, std)
        self.positions = Embedding(spec.max_positions, width, std)
        self.token_types = Embedding(spec.type_vocab_size, width, std) if spec.type_vocab_size else None
        self.norm = LayerNorm(width, spec.norm_eps) if spec.embedding_norm else None
        rate = spec.dropout if spec.embedding_dropout is None else spec.embedding_dropout
        self.dropout = keras.layers.Dropout(rate)
        # ELECTRA: narrow embeddings projected up to the blocks' width
        self.project = Linear(width, spec.hidden_size, std=std) if width != spec.hidden_size else None
        self.built = True  # every weight exists from here on

    def call(self, tokens: tf.Tensor, start: tf.Tensor | int = 0, token_type_ids: tf.Tensor | None = None,
             training: bool = False) -> tf.Tensor:
        """`tokens` (batch, seq); `start` is the position of the first token (cached decoding)."""
        x = self.tokens(tokens)
        if self.spec.embedding_scale != 1.0:
            x = x * self.spec.embedding_scale
        x = x + self.positions(self.position_ids(tokens, start))
        if self.token_types is not None:
            x = x + (self.token_types(token_type_ids) if token_type_ids is not None else self.token_types.weight[0])
        if self.norm is not None:
            x = self.norm(x)
        x = self.dropout(x, training=training)
        return self.project(x) if self.project is not None else x

    def position_ids(self, tokens: tf.Tensor, start: tf.Tensor | int) -> tf.Tensor:
        spec = self.spec
        start = tf.cast(start, tokens.dtype)
        if spec.positions_skip_padding:
            # padding keeps the pad index's row; real tokens count from pad + 1
            real = tf.cast(tokens != spec.pad_token_id, tokens.dtype)
            return (tf.cumsum(real, axis=1) + start) * real + spec.pad_token_id
        return tf.range(tf.shape(tokens)[1], dtype=tokens.dtype) + start + spec.position_offset
