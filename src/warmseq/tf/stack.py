"""A stack of blocks with its embeddings: the body of every encoder and decoder."""

from __future__ import annotations

import keras
import tensorflow as tf

from warmseq.configs.spec import TransformerSpec
from warmseq.tf.block import Block
from warmseq.tf.cache import DecoderCache
from warmseq.tf.embeddings import Embeddings
from warmseq.tf.layers import LayerNorm


class TransformerStack(keras.layers.Layer):
    def __init__(self, spec: TransformerSpec, **kw) -> None:
        super().__init__(**kw)
        spec.check()
        self.spec = spec
        self.embeddings = Embeddings(spec)
        self.layers = [Block(spec, name=f"layers_{i}") for i in range(spec.num_layers)]
        self.final_norm = LayerNorm(spec.hidden_size, spec.norm_eps) if spec.final_norm else None
        self.built = True  # every weight exists from here on

    def call(
        self,
        tokens: tf.Tensor,
        attention_mask: tf.Tensor | None = None,
        token_type_ids: tf.Tensor | None = None,
        memory: tf.Tensor | None = None,
        memory_mask: tf.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """Hidden states (batch, seq, hidden) of whole sequences, no cache.

        `attention_mask` (batch, seq) and `memory_mask` (batch, src_len) are 0/1 padding masks."""
        x = self.embeddings(tokens, start=0, token_type_ids=token_type_ids, training=training)
        mask = self.self_attention_mask(attention_mask, tf.shape(tokens)[1])
        if memory_mask is not None:
            memory_mask = tf.cast(memory_mask, tf.bool)
        for layer in self.layers:
            memory_kv = layer.cross_attn.project_memory(memory) if memory is not None and layer.cross_attn else None
            x = layer(x, visible=mask, memory_kv=memory_kv, memory_mask=memory_mask, training=training)
        return self.final_norm(x) if self.final_norm is not None else x

    def self_attention_mask(self, attention_mask: tf.Tensor | None, seq: tf.Tensor) -> tf.Tensor | None:
        """bool (batch, 1, seq, seq) or broadcastable: padding keys hidden, and later keys when causal."""
        mask = None
        if attention_mask is not None:
            mask = tf.cast(attention_mask, tf.bool)[:, None, None, :]  # (batch, 1, 1, keys)
        if self.spec.is_causal:
            causal = tf.range(seq)[None, :] <= tf.range(seq)[:, None]  # (queries, keys)
            mask = causal if mask is None else mask & causal
        return mask

    # ---- cached decoding ------------------------------------------------------------------
    def new_cache(self, rows: int, capacity: int, memory: tf.Tensor, memory_mask: tf.Tensor) -> DecoderCache:
        """Empty buffers for `rows` rows and each layer's cross-attention keys/values, once per source."""
        spec = self.spec
        memory_kv = tuple(layer.cross_attn.project_memory(memory) for layer in self.layers)
        return DecoderCache.allocate(rows, capacity, spec.num_layers, spec.num_heads, spec.head_dim, memory_kv,
                                     tf.cast(memory_mask, tf.bool))

    def decode(self, tokens: tf.Tensor, position: tf.Tensor, cache: DecoderCache) -> tuple[tf.Tensor, DecoderCache]:
        """Hidden states (rows, hidden) of one new token per row (`tokens` (rows, 1)) at `position`."""
        x = self.embeddings(tokens, start=position)
        keys, values = [], []
        for i, layer in enumerate(self.layers):
            x, k, v = layer.decode(x, cache.keys[i], cache.values[i], position, cache.memory_kv[i],
                                   cache.memory_mask)
            keys.append(k)
            values.append(v)
        x = self.final_norm(x) if self.final_norm is not None else x
        return x[:, 0], cache._replace(keys=tuple(keys), values=tuple(values))
