"""A stack of blocks with its embeddings: the body of every encoder and decoder (twin of modeling/stack.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from warmseq.configs.spec import TransformerSpec
from warmseq.flax.attention import padding_mask
from warmseq.flax.block import Block
from warmseq.flax.cache import DecoderCache
from warmseq.flax.dropout import DropoutRng
from warmseq.flax.embeddings import Embeddings
from warmseq.flax.linear import Dtype, layer_norm


class TransformerStack(nnx.Module):
    def __init__(self, spec: TransformerSpec, dtype: Dtype, rngs: nnx.Rngs) -> None:
        spec.check()
        self.spec = spec
        self.embeddings = Embeddings(spec, dtype, rngs)
        self.layers = nnx.List([Block(spec, dtype, rngs) for _ in range(spec.num_layers)])
        self.final_norm = layer_norm(spec.hidden_size, spec.norm_eps, dtype, rngs) if spec.final_norm else None

    def __call__(
        self,
        tokens: jax.Array,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        memory: jax.Array | None = None,
        memory_mask: jax.Array | None = None,
        rng: DropoutRng | None = None,
    ) -> jax.Array:
        """Hidden states (batch, seq, hidden) of a whole sequence, no cache.

        `attention_mask` (batch, seq) and `memory_mask` (batch, src_len) are 0/1 padding masks."""
        x = self.embeddings(tokens, 0, token_type_ids, rng)
        mask = self.self_attention_mask(attention_mask, tokens.shape[1])
        memory_mask = padding_mask(memory_mask) if memory_mask is not None else None
        for layer in self.layers:
            memory_kv = None
            if memory is not None and layer.cross_attn is not None:
                memory_kv = layer.cross_attn.project_memory(memory)
            x, _ = layer(x, mask, memory_kv, memory_mask, rng=rng)
        return self.final_norm(x) if self.final_norm is not None else x

    def self_attention_mask(self, attention_mask: jax.Array | None, seq: int) -> jax.Array | None:
        mask = padding_mask(attention_mask) if attention_mask is not None else None  # (batch, 1, 1, seq)
        if self.spec.is_causal:
            causal = jnp.tril(jnp.ones((seq, seq), bool))
            mask = causal if mask is None else mask & causal
        return mask

    # ---- cached decoding ------------------------------------------------------------------
    def init_cache(self, rows: int, capacity: int, memory: jax.Array, memory_mask: jax.Array | None) -> DecoderCache:
        """A cache for `rows` rows (a multiple of the sources in `memory`) and `capacity` positions."""
        memory_kv = [layer.cross_attn.project_memory(memory) for layer in self.layers]
        mask = padding_mask(memory_mask) if memory_mask is not None else None
        return DecoderCache.allocate(rows, self.spec.num_heads, self.spec.head_dim, capacity, memory_kv, mask)

    def decode(self, tokens: jax.Array, cache: DecoderCache) -> tuple[jax.Array, DecoderCache]:
        """Hidden states of the new `tokens` (rows, n) and the cache extended by them."""
        position = cache.position
        x = self.embeddings(tokens, position)
        capacity = cache.self_kv[0][0].shape[2]
        # query i (at position + i) sees the keys written so far and itself: (1, 1, n, capacity)
        queries = position + jnp.arange(tokens.shape[1])[:, None]
        mask = (jnp.arange(capacity)[None, :] <= queries)[None, None]
        self_kv = []
        for layer, layer_kv, memory_kv in zip(self.layers, cache.self_kv, cache.memory_kv, strict=True):
            x, layer_kv = layer(x, mask, memory_kv, cache.memory_mask, layer_kv, position)
            self_kv.append(layer_kv)
        x = self.final_norm(x) if self.final_norm is not None else x
        return x, DecoderCache(self_kv, cache.memory_kv, cache.memory_mask, position + tokens.shape[1])
