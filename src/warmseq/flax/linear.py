"""The parameter-holding layers of the Flax port (dense, LayerNorm, embedding) and how they start.

Flax's own modules, with the PyTorch side's initialisation: normal(initializer_range) weights, zero biases,
unit norms. Parameters stay float32; `dtype` is the compute dtype (bfloat16 for faster, lighter compute).
Checkpoints name these `weight`/`bias`; Flax calls them `kernel` (stored (in, out), the transpose of
PyTorch's (out, in)), `scale` and `embedding` (checkpoint.py translates)."""

from __future__ import annotations

import jax.numpy as jnp

from flax import nnx

Dtype = jnp.dtype | type


def dense(in_features: int, out_features: int, std: float, dtype: Dtype, rngs: nnx.Rngs,
          bias: bool = True) -> nnx.Linear:
    return nnx.Linear(in_features, out_features, use_bias=bias, dtype=dtype, param_dtype=jnp.float32,
                      kernel_init=nnx.initializers.normal(std), bias_init=nnx.initializers.zeros, rngs=rngs)


def layer_norm(width: int, eps: float, dtype: Dtype, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(width, epsilon=eps, dtype=dtype, param_dtype=jnp.float32, rngs=rngs)


def embedding(rows: int, width: int, std: float, dtype: Dtype, rngs: nnx.Rngs,
              padding_row: int | None = None) -> nnx.Embed:
    table = nnx.Embed(rows, width, dtype=dtype, param_dtype=jnp.float32,
                      embedding_init=nnx.initializers.normal(std), rngs=rngs)
    if padding_row is not None and 0 <= padding_row < rows:  # the padding row starts at zero, as in PyTorch
        table.embedding.value = table.embedding.value.at[padding_row].set(0.0)
    return table
