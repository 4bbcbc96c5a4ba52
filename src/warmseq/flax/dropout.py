"""Dropout with explicit keys: a training call gets one key and folds a fresh one out of it per mask."""

from __future__ import annotations

import jax
import jax.numpy as jnp


class DropoutRng:
    """The keys of one training call. `None` in its place means no dropout (evaluation).

    Each `next()` folds a counter into the base key; the counter advances while JAX traces the call, so
    a jit-compiled step draws the same masks for the same key."""

    def __init__(self, key: jax.Array) -> None:
        self.key = key
        self.count = 0

    def next(self) -> jax.Array:
        self.count += 1
        return jax.random.fold_in(self.key, self.count)


def dropout(x: jax.Array, rate: float, rng: DropoutRng | None) -> jax.Array:
    if rng is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(rng.next(), 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0).astype(x.dtype)


def dropout_keys(train: bool, dropout_rng: jax.Array | DropoutRng | None) -> DropoutRng | None:
    """The dropout keys of a call: none unless `train`, which needs `dropout_rng` (a jax.random key)."""
    if not train:
        return None
    if dropout_rng is None:
        raise ValueError("train=True needs dropout_rng=jax.random.key(...) for the dropout masks")
    return dropout_rng if isinstance(dropout_rng, DropoutRng) else DropoutRng(dropout_rng)
