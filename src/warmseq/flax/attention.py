"""Multi-head attention: self-attention with a fused q/k/v projection, cross-attention over encoder states.

The twin of warmseq/modeling/attention.py. Masks are bool, True where a query may see a key, broadcastable
to (batch, heads, queries, keys)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from warmseq.flax.cache import KV
from warmseq.flax.dropout import DropoutRng, dropout
from warmseq.flax.linear import Dtype, dense


def split_heads(x: jax.Array, num_heads: int) -> jax.Array:
    batch, seq, width = x.shape
    # (batch, seq, hidden) -> (batch, heads, seq, head_dim)
    return x.reshape(batch, seq, num_heads, width // num_heads).transpose(0, 2, 1, 3)


def merge_heads(x: jax.Array) -> jax.Array:
    batch, heads, seq, head_dim = x.shape
    # (batch, heads, seq, head_dim) -> (batch, seq, hidden)
    return x.transpose(0, 2, 1, 3).reshape(batch, seq, heads * head_dim)


class SelfAttention(nnx.Module):
    def __init__(self, hidden_size: int, num_heads: int, dropout_rate: float, std: float, dtype: Dtype,
                 rngs: nnx.Rngs, bias: bool = True) -> None:
        self.num_heads = num_heads
        self.dropout_rate = dropout_rate
        self.qkv = dense(hidden_size, 3 * hidden_size, std, dtype, rngs, bias)
        self.out = dense(hidden_size, hidden_size, std, dtype, rngs, bias)

    def __call__(self, x: jax.Array, mask: jax.Array | None, cache: KV | None = None,
                 position: jax.Array | None = None, rng: DropoutRng | None = None) -> tuple[jax.Array, KV | None]:
        """With `cache` (keys, values of capacity positions), the new keys/values are written at `position`
        and the queries read the whole buffer; `mask` must then hide the unwritten positions."""
        q, k, v = (split_heads(t, self.num_heads) for t in jnp.split(self.qkv(x), 3, axis=-1))
        if cache is not None:
            start = (0, 0, position, 0)
            k = jax.lax.dynamic_update_slice(cache[0], k.astype(cache[0].dtype), start)
            v = jax.lax.dynamic_update_slice(cache[1], v.astype(cache[1].dtype), start)
            cache = (k, v)
        y = attend(q, k, v, mask, self.dropout_rate, rng)
        return self.out(merge_heads(y)), cache


class CrossAttention(nnx.Module):
    """Queries from the decoder, keys and values from the encoder's states (`memory`)."""

    def __init__(self, hidden_size: int, memory_size: int, num_heads: int, dropout_rate: float, std: float,
                 dtype: Dtype, rngs: nnx.Rngs, bias: bool = True) -> None:
        self.num_heads = num_heads
        self.dropout_rate = dropout_rate
        self.q = dense(hidden_size, hidden_size, std, dtype, rngs, bias)
        self.kv = dense(memory_size, 2 * hidden_size, std, dtype, rngs, bias)
        self.out = dense(hidden_size, hidden_size, std, dtype, rngs, bias)

    def project_memory(self, memory: jax.Array) -> KV:
        """Keys and values of the encoder states, (sources, heads, src_len, head_dim) each."""
        k, v = jnp.split(self.kv(memory), 2, axis=-1)
        return split_heads(k, self.num_heads), split_heads(v, self.num_heads)

    def __call__(self, x: jax.Array, memory_kv: KV, memory_mask: jax.Array | None,
                 rng: DropoutRng | None = None) -> jax.Array:
        """`x` has rows_per_source rows for each source in `memory_kv` (beams share their source's keys)."""
        k, v = memory_kv
        q = split_heads(self.q(x), self.num_heads)  # (rows, heads, seq, head_dim)
        rows, heads, seq, head_dim = q.shape
        sources = k.shape[0]
        per_source = rows // sources
        if per_source > 1:
            # (sources * per_source, heads, seq, d) -> (sources, heads, per_source * seq, d)
            q = q.reshape(sources, per_source, heads, seq, head_dim).transpose(0, 2, 1, 3, 4)
            q = q.reshape(sources, heads, per_source * seq, head_dim)
        y = attend(q, k, v, memory_mask, self.dropout_rate, rng)
        if per_source > 1:
            y = y.reshape(sources, heads, per_source, seq, head_dim).transpose(0, 2, 1, 3, 4)
            y = y.reshape(rows, heads, seq, head_dim)
        return self.out(merge_heads(y))


def attend(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array | None, dropout_rate: float,
           rng: DropoutRng | None) -> jax.Array:
    """Softmax attention, (batch, heads, queries, head_dim); the softmax runs in float32 whatever the
    compute dtype. A query that sees no key gets a zero output, as the PyTorch side gives it."""
    scores = jnp.einsum("bhqd,bhkd->bhqk", q * jnp.asarray(q.shape[-1] ** -0.5, q.dtype), k)
    scores = scores.astype(jnp.float32)
    if mask is not None:
        scores = jnp.where(mask, scores, jnp.finfo(jnp.float32).min)
    weights = jax.nn.softmax(scores, axis=-1)
    if mask is not None:
        weights = jnp.where(mask, weights, 0.0)  # changes only rows that see no key at all
    weights = dropout(weights.astype(v.dtype), dropout_rate, rng)
    return jnp.einsum("bhqk,bhkd->bhqd", weights, v)


def causal_mask(queries: int, keys: int) -> jax.Array:
    """(queries, keys) bool: the last query sits at the last key position."""
    return jnp.tril(jnp.ones((queries, keys), bool), k=keys - queries)


def padding_mask(attention_mask: jax.Array) -> jax.Array:
    """(batch, keys) 0/1 mask -> (batch, 1, 1, keys) bool for attention."""
    return attention_mask.astype(bool)[:, None, None, :]
