"""The few array operations a key map needs, for whichever array library holds the tensors.

Key maps run on PyTorch tensors (the core) and on NumPy arrays (the JAX and TensorFlow ports load
safetensors as NumPy). Nothing here imports a tensor library: a torch tensor is recognised by its
type's module and handled with torch's own methods."""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any  # a torch.Tensor or a numpy.ndarray


def _is_torch(array: Array) -> bool:
    return type(array).__module__.startswith("torch")


def concat(parts: list[Array]) -> Array:
    """Join along the first axis (q, k, v -> qkv)."""
    if _is_torch(parts[0]):
        import torch  # already imported by whoever made the tensors

        return torch.cat(parts, dim=0)
    return np.concatenate(parts, axis=0)


def split(array: Array, count: int) -> list[Array]:
    """`count` equal pieces along the first axis, each a copy of its own."""
    if _is_torch(array):
        return [piece.clone() for piece in array.chunk(count, dim=0)]
    return [piece.copy() for piece in np.split(array, count, axis=0)]


def transpose(array: Array) -> Array:
    """A 2-D array transposed, as a contiguous copy."""
    if _is_torch(array):
        return array.t().contiguous()
    return np.ascontiguousarray(array.T)


def copy(array: Array) -> Array:
    return array.clone() if _is_torch(array) else array.copy()
