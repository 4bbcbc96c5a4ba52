"""Weight files as NumPy arrays: model.safetensors (single or sharded) in and out, PyTorch layout and names.

The file layout (names, shard index, "pt" metadata) is the one `warmseq.checkpoints.files` writes, so the
PyTorch side and transformers read what this writes; only the array library differs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from warmseq.atomic import write_atomic, write_text_atomic
from warmseq.checkpoints.files import (
    BIN_INDEX,
    BIN_NAME,
    SAFETENSORS_INDEX,
    SAFETENSORS_NAME,
    WEIGHT_NAMES,
    parse_size,
    remove_stale_weights,
)
from warmseq.checkpoints.shard_index import local_shard_path, read_weight_map
from warmseq.hub import resolve_file


def load_arrays(name_or_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a model folder or Hub id as NumPy arrays (safetensors preferred over .bin)."""
    for name in (SAFETENSORS_NAME, SAFETENSORS_INDEX):
        path = resolve_file(name_or_path, name, optional=True)
        if path is not None:
            return read_safetensors(path) if name == SAFETENSORS_NAME else read_sharded(path)
    for name in (BIN_NAME, BIN_INDEX):
        if resolve_file(name_or_path, name, optional=True) is not None:
            from warmseq.checkpoints.files import load_state_dict  # legacy pickles need torch to read

            return {k: v.numpy() for k, v in load_state_dict(name_or_path).items()}
    raise FileNotFoundError(f"{os.fspath(name_or_path)} has no weights: expected one of {', '.join(WEIGHT_NAMES)}")


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    try:
        return load_file(path)
    except (SafetensorError, OSError) as err:
        raise ValueError(
            f"{path} is not a readable safetensors file ({err}); it may be truncated or only partly downloaded"
        ) from None


def read_sharded(index_path: Path) -> dict[str, np.ndarray]:
    weight_map = read_weight_map(index_path)  # entries checked: plain file names inside the folder
    arrays: dict[str, np.ndarray] = {}
    for shard in sorted(set(weight_map.values())):
        shard_path = local_shard_path(index_path, shard)
        if not shard_path.is_file():
            raise FileNotFoundError(f"{index_path} lists shard {shard}, which is missing from {index_path.parent}")
        arrays.update(read_safetensors(shard_path))
    missing = sorted(set(weight_map) - set(arrays))
    if missing:
        raise ValueError(f"{index_path} lists tensors no shard holds: {', '.join(missing[:5])}")
    return arrays


def save_arrays(arrays: dict[str, np.ndarray], folder: Path, max_shard_size: int | str = "5GB") -> None:
    """Write model.safetensors, or shards plus model.safetensors.index.json above `max_shard_size`."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    limit = parse_size(max_shard_size)
    shards: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for key in sorted(arrays):
        if shards[-1] and size + arrays[key].nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][key] = arrays[key]
        size += arrays[key].nbytes
    metadata = {"format": "pt"}
    if len(shards) == 1:
        write_atomic(folder / SAFETENSORS_NAME, lambda tmp: save_file(shards[0], tmp, metadata=metadata))
        remove_stale_weights(folder, {SAFETENSORS_NAME})
        return
    weight_map, written = {}, {SAFETENSORS_INDEX}
    for number, shard in enumerate(shards, start=1):
        name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        write_atomic(folder / name, lambda tmp, shard=shard: save_file(shard, tmp, metadata=metadata))
        weight_map.update(dict.fromkeys(shard, name))
        written.add(name)
    total = sum(a.nbytes for a in arrays.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    write_text_atomic(folder / SAFETENSORS_INDEX, json.dumps(index, indent=2) + "\n")
    remove_stale_weights(folder, written)
