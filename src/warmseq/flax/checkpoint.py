"""Weights in and out of Flax modules through the shared key maps, as NumPy arrays (no PyTorch involved).

The key maps speak of the PyTorch side's names (`stack.layers.0.self_attn.qkv.weight`, (out, in) layout);
`read_param` and `write_param` translate such a name to the Flax parameter it means: a `weight` of a dense
layer is its `kernel` transposed, of a LayerNorm its `scale`, of an embedding its `embedding` table."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from flax import nnx
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from warmseq.atomic import write_atomic, write_text_atomic
from warmseq.checkpoints.files import (
    BIN_INDEX,
    BIN_NAME,
    SAFETENSORS_INDEX,
    SAFETENSORS_NAME,
    parse_size,
    remove_stale_weights,
)
from warmseq.checkpoints.shard_index import local_shard_path, read_weight_map
from warmseq.hub import resolve_file

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


# ---- files -------------------------------------------------------------------------------------
def load_numpy_state(name_or_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of a model folder or Hub id: model.safetensors, or its shards."""
    path = resolve_file(name_or_path, SAFETENSORS_NAME, optional=True)
    if path is not None:
        return read_safetensors(path)
    index = resolve_file(name_or_path, SAFETENSORS_INDEX, optional=True)
    if index is not None:
        return read_sharded(index)
    for legacy in (BIN_NAME, BIN_INDEX):
        if resolve_file(name_or_path, legacy, optional=True) is not None:
            raise ValueError(
                f"{os.fspath(name_or_path)} holds only {legacy} (a PyTorch pickle), which the Flax classes do not "
                "read; convert it once with warmseq's PyTorch class: "
                "EncoderDecoderModel.from_pretrained(path).save_pretrained(path)"
            )
    raise FileNotFoundError(
        f"{os.fspath(name_or_path)} has no weights: expected {SAFETENSORS_NAME} or {SAFETENSORS_INDEX}"
    )


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    try:
        return load_file(path)
    except (SafetensorError, OSError) as err:
        raise ValueError(
            f"{path} is not a readable safetensors file ({err}); it may be truncated or only partly downloaded"
        ) from None


def read_sharded(index_path: Path) -> dict[str, np.ndarray]:
    weight_map = read_weight_map(index_path)  # entries checked: plain file names inside the folder
    state: dict[str, np.ndarray] = {}
    for shard in sorted(set(weight_map.values())):
        shard_path = local_shard_path(index_path, shard)
        if not shard_path.is_file():
            raise FileNotFoundError(f"{index_path} lists shard {shard}, which is missing from {index_path.parent}")
        state.update(read_safetensors(shard_path))
    missing = sorted(set(weight_map) - set(state))
    if missing:
        raise ValueError(f"{index_path} lists tensors no shard holds: {', '.join(missing[:5])}")
    return state


def save_numpy_state(state: dict[str, np.ndarray], folder: Path, max_shard_size: int | str = "5GB") -> None:
    """Write `state` as model.safetensors, or as shards plus the shared index format above `max_shard_size`.

    The files say `format: pt`: they hold the PyTorch layout, so the PyTorch classes and transformers read them."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v) for k, v in state.items()}
    shards = split_into_shards(arrays, parse_size(max_shard_size))
    metadata = {"format": "pt"}
    if len(shards) == 1:
        write_atomic(folder / SAFETENSORS_NAME, lambda tmp: save_file(shards[0], tmp, metadata=metadata))
        written = {SAFETENSORS_NAME}
    else:
        weight_map, written = {}, set()
        for number, shard in enumerate(shards, start=1):
            name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
            write_atomic(folder / name, lambda tmp, shard=shard: save_file(shard, tmp, metadata=metadata))
            weight_map.update(dict.fromkeys(shard, name))
            written.add(name)
        total = sum(a.nbytes for a in arrays.values())
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        write_text_atomic(folder / SAFETENSORS_INDEX, json.dumps(index, indent=2) + "\n")
        written.add(SAFETENSORS_INDEX)
    remove_stale_weights(folder, written)


def split_into_shards(arrays: dict[str, np.ndarray], limit: int) -> list[dict[str, np.ndarray]]:
    shards: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for key in sorted(arrays):
        if shards[-1] and size + arrays[key].nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][key] = arrays[key]
        size += arrays[key].nbytes
    return shards
