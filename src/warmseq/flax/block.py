"""The transformer block every family uses: self-attention, optional cross-attention, feed-forward.

The twin of warmseq/modeling/block.py: post-norm (`x = norm(x + f(x))`, BERT/BART) or pre-norm
(`x = x + f(norm(x))`, GPT-2), chosen by `spec.norm_first`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx

from warmseq.configs.spec import TransformerSpec
from warmseq.flax.attention import CrossAttention, SelfAttention
from warmseq.flax.cache import KV
from warmseq.flax.dropout import DropoutRng, dropout
from warmseq.flax.linear import Dtype, dense, layer_norm

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "gelu": partial(jax.nn.gelu, approximate=False),
    "gelu_new": partial(jax.nn.gelu, approximate=True),
    "gelu_pytorch_tanh": partial(jax.nn.gelu, approximate=True),
    "gelu_fast": partial(jax.nn.gelu, approximate=True),
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "tanh": jnp.tanh,
}


def activation_fn(name: str) -> Callable[[jax.Array], jax.Array]:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not supported; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class FeedForward(nnx.Module):
    def __init__(self, spec: TransformerSpec, dtype: Dtype, rngs: nnx.Rngs) -> None:
        std = spec.initializer_range
        self.up = dense(spec.hidden_size, spec.intermediate_size, std, dtype, rngs)
        self.down = dense(spec.intermediate_size, spec.hidden_size, std, dtype, rngs)
        self.activation = spec.activation
        self.activation_dropout = spec.activation_dropout
        activation_fn(spec.activation)  # an unknown name fails when the model is built

    def __call__(self, x: jax.Array, rng: DropoutRng | None = None) -> jax.Array:
        inner = activation_fn(self.activation)(self.up(x))
        return self.down(dropout(inner, self.activation_dropout, rng))


class Block(nnx.Module):
    def __init__(self, spec: TransformerSpec, dtype: Dtype, rngs: nnx.Rngs) -> None:
        h, eps, std = spec.hidden_size, spec.norm_eps, spec.initializer_range
        self.norm_first = spec.norm_first
        self.dropout_rate = spec.dropout
        self.self_attn = SelfAttention(h, spec.num_heads, spec.attention_dropout, std, dtype, rngs,
                                       spec.attention_bias)
        self.self_attn_norm = layer_norm(h, eps, dtype, rngs)
        has_cross = spec.has_cross_attention
        self.cross_attn = CrossAttention(h, h, spec.num_heads, spec.attention_dropout, std,
                                         dtype, rngs, spec.attention_bias) if has_cross else None
        self.cross_attn_norm = layer_norm(h, eps, dtype, rngs) if has_cross else None
        self.ffn = FeedForward(spec, dtype, rngs)
        self.ffn_norm = layer_norm(h, eps, dtype, rngs)

    def __call__(
        self,
        x: jax.Array,
        mask: jax.Array | None,
        memory_kv: KV | None = None,
        memory_mask: jax.Array | None = None,
        cache: KV | None = None,
        position: jax.Array | None = None,
        rng: DropoutRng | None = None,
    ) -> tuple[jax.Array, KV | None]:
        def self_attention(y: jax.Array) -> jax.Array:
            nonlocal cache
            y, cache = self.self_attn(y, mask, cache, position, rng)
            return y

        x = self.residual(x, self.self_attn_norm, self_attention, rng)
        if self.cross_attn is not None and memory_kv is not None:
            x = self.residual(x, self.cross_attn_norm, lambda y: self.cross_attn(y, memory_kv, memory_mask, rng),
                              rng)
        return self.residual(x, self.ffn_norm, lambda y: self.ffn(y, rng), rng), cache

    def residual(self, x: jax.Array, norm: nnx.LayerNorm, f: Callable[[jax.Array], jax.Array],
                 rng: DropoutRng | None) -> jax.Array:
        if self.norm_first:
            return x + dropout(f(norm(x)), self.dropout_rate, rng)
        return norm(x + dropout(f(x), self.dropout_rate, rng))
