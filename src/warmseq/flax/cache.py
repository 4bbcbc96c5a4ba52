"""Decoder state between generation steps: fixed-size self-attention buffers and the encoder's keys/values.

The twin of warmseq/modeling/cache.py as a pytree: a step returns a new cache instead of filling buffers
in place (XLA updates them in place inside a compiled loop)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

KV = tuple[jax.Array, jax.Array]


@jax.tree_util.register_dataclass
@dataclass
class DecoderCache:
    """Everything a decoder step needs besides the new tokens.

    `self_kv`: per layer, keys and values (rows, heads, capacity, head_dim), filled up to `position`.
    `memory_kv`: per layer, cross-attention keys and values (sources, heads, src_len, head_dim), computed
    once per source and shared by its rows (beams or samples). `memory_mask`: (sources, 1, 1, src_len) bool.
    """

    self_kv: list[KV]
    memory_kv: list[KV]
    memory_mask: jax.Array | None
    position: jax.Array  # int32 scalar: decoder tokens seen so far

    @staticmethod
    def allocate(rows: int, num_heads: int, head_dim: int, capacity: int, memory_kv: list[KV],
                 memory_mask: jax.Array | None) -> DecoderCache:
        dtype = memory_kv[0][0].dtype
        shape = (rows, num_heads, capacity, head_dim)
        self_kv = [(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in memory_kv]
        return DecoderCache(self_kv, memory_kv, memory_mask, jnp.zeros((), jnp.int32))

    def select_rows(self, rows: jax.Array) -> DecoderCache:
        """Row r becomes old row rows[r] (beam search reordering); the encoder's keys/values stay."""
        self_kv = [(k[rows], v[rows]) for k, v in self.self_kv]
        return DecoderCache(self_kv, self.memory_kv, self.memory_mask, self.position)


def expand_rows(x: jax.Array, per_source: int) -> jax.Array:
    """Repeat each source's row `per_source` times along axis 0, keeping a source's rows together."""
    return x if per_source == 1 else jnp.repeat(x, per_source, axis=0)
