"""The parameter-holding layers of the Flax port (dense, LayerNorm, embedding) and how they start.

Flax's own modules, with the PyTorch side's initialisation: normal(initializer_range) weights, zero biases,
unit norms. Parameters stay float32; `dtype` is the compute dtype (bfloat16 for faster, lighter compute).
Checkpoints name these `weight`/`bias`; Flax calls them `kernel` (stored (in, out), the transpose of
PyTorch's (out, in)), `scale` and `embedding` (checkpoint.py translates)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

Dtype = jnp.dtype | type


def normal(std: float) -> Callable[[jax.Array, tuple[int, ...], Dtype], jax.Array]:
    """A normal(0, std) initializer drawn by NumPy from the key's bits: building a model then runs no XLA
    program per parameter shape (each would be compiled once, seconds in all on a small CPU)."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Dtype = jnp.float32) -> jax.Array:
        if isinstance(key, jax.core.Tracer):  # built inside a transformation: JAX draws
            return std * jax.random.normal(key, shape, dtype)
        seed = np.asarray(jax.random.key_data(key)).ravel().tolist()
        return jnp.asarray(np.random.default_rng(seed).normal(0.0, std, shape), dtype)

    return init


def ones(key: jax.Array, shape: tuple[int, ...], dtype: Dtype = jnp.float32) -> jax.Array:
    return jnp.asarray(np.ones(shape), dtype)


def zeros(key: jax.Array, shape: tuple[int, ...], dtype: Dtype = jnp.float32) -> jax.Array:
    return jnp.asarray(np.zeros(shape), dtype)


def dense(in_features: int, out_features: int, std: float, dtype: Dtype, rngs: nnx.Rngs,
          bias: bool = True) -> nnx.Linear:
    return nnx.Linear(in_features, out_features, use_bias=bias, dtype=dtype, param_dtype=jnp.float32,
                      kernel_init=normal(std), bias_init=zeros, rngs=rngs)


def layer_norm(width: int, eps: float, dtype: Dtype, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(width, epsilon=eps, dtype=dtype, param_dtype=jnp.float32, bias_init=zeros,
                         scale_init=ones, rngs=rngs)


def embedding(rows: int, width: int, std: float, dtype: Dtype, rngs: nnx.Rngs,
              padding_row: int | None = None) -> nnx.Embed:
    table = nnx.Embed(rows, width, dtype=dtype, param_dtype=jnp.float32,
                      embedding_init=normal(std), rngs=rngs)
    if padding_row is not None and 0 <= padding_row < rows:  # the padding row starts at zero, as in PyTorch
        values = np.array(table.embedding.value)
        values[padding_row] = 0.0
        table.embedding.value = jnp.asarray(values)
    return table
