"""Token, position and token-type embeddings; the twin of warmseq/modeling/embeddings.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from warmseq.configs.spec import TransformerSpec
from warmseq.flax.dropout import DropoutRng, dropout
from warmseq.flax.linear import Dtype, dense, embedding, layer_norm


class Embeddings(nnx.Module):
    def __init__(self, spec: TransformerSpec, dtype: Dtype, rngs: nnx.Rngs) -> None:
        self.spec = spec
        width, std = spec.embedding_width, spec.initializer_range
        self.tokens = embedding(spec.vocab_size, width, std, dtype, rngs, padding_row=spec.pad_token_id)
        self.positions = embedding(spec.max_positions, width, std, dtype, rngs)
        self.token_types = embedding(spec.type_vocab_size, width, std, dtype, rngs) if spec.type_vocab_size else None
        self.norm = layer_norm(width, spec.norm_eps, dtype, rngs) if spec.embedding_norm else None
        # ELECTRA: narrow embeddings projected up to the blocks' width
        self.project = dense(width, spec.hidden_size, std, dtype, rngs) if width != spec.hidden_size else None

    def __call__(self, tokens: jax.Array, start: jax.Array | int = 0, token_type_ids: jax.Array | None = None,
                 rng: DropoutRng | None = None) -> jax.Array:
        """`tokens` (batch, seq); `start` is the position of the first token (cached decoding)."""
        spec = self.spec
        x = self.tokens(tokens)
        if spec.embedding_scale != 1.0:
            x = x * jnp.asarray(spec.embedding_scale, x.dtype)
        x = x + self.positions(self.position_ids(tokens, start))
        if self.token_types is not None:
            types = token_type_ids if token_type_ids is not None else jnp.zeros_like(tokens)
            x = x + self.token_types(types)
        if self.norm is not None:
            x = self.norm(x)
        rate = spec.dropout if spec.embedding_dropout is None else spec.embedding_dropout
        x = dropout(x, rate, rng)
        return self.project(x) if self.project is not None else x

    def position_ids(self, tokens: jax.Array, start: jax.Array | int) -> jax.Array:
        spec = self.spec
        if spec.positions_skip_padding:
            # padding keeps the pad index's row; real tokens count from pad + 1
            real = (tokens != spec.pad_token_id).astype(jnp.int32)
            return (jnp.cumsum(real, axis=1) + start) * real + spec.pad_token_id
        return start + spec.position_offset + jnp.arange(tokens.shape[1])[None, :]
