"""Checks on what users pass to a Flax model, with errors that say what was expected.

Arrays that JAX is tracing (inside `jax.jit`) have no values to check; only their shapes are checked."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def as_token_ids(ids: object, argument: str, vocab_size: int, max_length: int | None = None) -> jax.Array:
    """`ids` as an int32 array (batch, seq), checked against the vocabulary and the positions."""
    if isinstance(ids, jax.core.Tracer):
        return ids.astype(jnp.int32)
    try:
        array = np.asarray(ids)
    except (TypeError, ValueError):
        raise TypeError(f"{argument} must be an array of token ids, got {type(ids).__name__}") from None
    if array.dtype.kind not in "iu":
        raise TypeError(f"{argument} has dtype {array.dtype}; token ids must be integers")
    if array.ndim != 2:
        raise ValueError(f"{argument} has shape {array.shape}; expected (batch, sequence_length)")
    if array.size == 0:
        raise ValueError(f"{argument} is empty (shape {array.shape}); expected at least one token")
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        hint = " (-100 marks ignored positions in labels, not in inputs)" if bad == -100 else ""
        raise ValueError(f"{argument} holds token id {bad}, outside the vocabulary [0, {vocab_size}){hint}")
    if max_length is not None and array.shape[1] > max_length:
        raise ValueError(
            f"{argument} has {array.shape[1]} tokens but the model holds at most {max_length} positions; "
            "truncate the input (tokenizer(..., truncation=True, max_length=...))"
        )
    return jnp.asarray(array, jnp.int32)


def as_mask(mask: object, argument: str, like: jax.Array) -> jax.Array | None:
    """A 0/1 padding mask of `like`'s shape, or None."""
    if mask is None:
        return None
    array = mask if isinstance(mask, jax.core.Tracer) else jnp.asarray(mask)
    if array.shape != like.shape:
        raise ValueError(f"{argument} has shape {tuple(array.shape)}; expected {tuple(like.shape)}, as its ids")
    return array.astype(jnp.int32)


def as_labels(labels: object, vocab_size: int) -> jax.Array:
    if isinstance(labels, jax.core.Tracer):
        return labels.astype(jnp.int32)
    array = np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise TypeError(f"labels has dtype {array.dtype}; expected integer token ids (-100 to ignore)")
    bad = array[(array != -100) & ((array < 0) | (array >= vocab_size))]
    if bad.size:
        raise ValueError(f"labels holds token id {int(bad[0])}, outside the vocabulary [0, {vocab_size}) and not -100")
    return jnp.asarray(array, jnp.int32)
