"""Weights in and out of Flax modules through the shared key maps, as NumPy arrays (no PyTorch involved).

The key maps speak of the PyTorch side's names (`stack.layers.0.self_attn.qkv.weight`, (out, in) layout);
`read_param` and `write_param` translate such a name to the Flax parameter it means: a `weight` of a dense
layer is its `kernel` transposed, of a LayerNorm its `scale`, of an embedding its `embedding` table."""

from __future__ import annotations

import numpy as np
from flax import nnx

FLAX_NAMES = {nnx.Linear: {"weight": "kernel"}, nnx.LayerNorm: {"weight": "scale"}, nnx.Embed: {"weight": "embedding"}}


def owner_of(module: nnx.Module, name: str) -> tuple[object, str]:
    """The object holding `name` (dotted, PyTorch style) and the last part of the name."""
    *path, leaf = name.split(".")
    owner: object = module
    for part in path:
        owner = owner[int(part)] if part.isdigit() else getattr(owner, part)  # type: ignore[index]
    return owner, leaf


def variable_of(module: nnx.Module, name: str) -> tuple[nnx.Variable, bool]:
    """The Flax variable behind a PyTorch-style name, and whether it is stored transposed."""
    owner, leaf = owner_of(module, name)
    for kind, names in FLAX_NAMES.items():
        if isinstance(owner, kind):
            return getattr(owner, names.get(leaf, leaf)), kind is nnx.Linear and leaf == "weight"
    return getattr(owner, leaf), False


def read_param(module: nnx.Module, name: str) -> np.ndarray:
    variable, transposed = variable_of(module, name)
    array = np.asarray(variable.value)
    return np.ascontiguousarray(array.T) if transposed else array


def write_param(module: nnx.Module, name: str, array: np.ndarray) -> None:
    variable, transposed = variable_of(module, name)
    array = array.T if transposed else array
    variable.value = np.asarray(array, dtype=variable.value.dtype)
