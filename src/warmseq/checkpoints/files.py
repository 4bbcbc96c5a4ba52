"""Weight files in and out: model.safetensors (single or sharded) and legacy pytorch_model.bin."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from warmseq.atomic import write_atomic, write_text_atomic
from warmseq.hub import resolve_file

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
BIN_INDEX = "pytorch_model.bin.index.json"
WEIGHT_NAMES = (SAFETENSORS_NAME, SAFETENSORS_INDEX, BIN_NAME, BIN_INDEX)


def load_state_dict(name_or_path: str | os.PathLike) -> dict[str, Tensor]:
    """All tensors of a model folder or Hub id, preferring safetensors over pickled .bin files."""
    for name, reader in ((SAFETENSORS_NAME, read_safetensors), (SAFETENSORS_INDEX, read_sharded),
                         (BIN_NAME, read_bin), (BIN_INDEX, read_sharded)):
        path = resolve_file(name_or_path, name, optional=True)
        if path is not None:
            return reader(path)
    raise FileNotFoundError(
        f"{os.fspath(name_or_path)} has no weights: expected one of {', '.join(WEIGHT_NAMES)}"
    )


def read_safetensors(path: Path) -> dict[str, Tensor]:
    try:
        return load_file(path)
    except (SafetensorError, OSError) as err:
        raise ValueError(
            f"{path} is not a readable safetensors file ({err}); it may be truncated or only partly downloaded"
        ) from None


def read_bin(path: Path) -> dict[str, Tensor]:
    """A pickled state dict, unpickled with `weights_only=True`: tensors only, no code runs."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError or EOFError by case
        raise ValueError(
            f"{path} could not be loaded as plain tensors ({type(err).__name__}: {str(err)[:200]}); "
            "warmseq never runs code found in a pickle. Convert it to model.safetensors with a tool you trust."
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, Tensor) for v in data.values()):
        raise ValueError(f"{path} does not hold a flat dict of tensors")
    return data


def read_sharded(index_path: Path) -> dict[str, Tensor]:
    try:
        weight_map: dict[str, str] = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{index_path} is not a valid shard index (expected a 'weight_map'): {err}") from None
    state: dict[str, Tensor] = {}
    reader = read_bin if index_path.name == BIN_INDEX else read_safetensors
    for shard in sorted(set(weight_map.values())):
        shard_path = index_path.parent / shard
        if not shard_path.is_file():
            raise FileNotFoundError(f"{index_path} lists shard {shard}, which is missing from {index_path.parent}")
        state.update(reader(shard_path))
    missing = sorted(set(weight_map) - set(state))
    if missing:
        raise ValueError(f"{index_path} lists tensors no shard holds: {', '.join(missing[:5])}")
    return state


def parse_size(size: int | str) -> int:
    if isinstance(size, int):
        return size
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    text = size.strip().upper()
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def save_state_dict(state: dict[str, Tensor], folder: Path, max_shard_size: int | str = "5GB") -> None:
    """Write `state` as model.safetensors, or as shards plus an index when it exceeds `max_shard_size`.

    Each file is written under a temporary name and renamed; the index is written last, and weight
    files of an earlier save that the new one does not use are removed afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = copy_shared_tensors({k: v.detach().contiguous().cpu() for k, v in state.items()})
    shards = split_into_shards(tensors, parse_size(max_shard_size))
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
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        write_text_atomic(folder / SAFETENSORS_INDEX, json.dumps(index, indent=2) + "\n")
        written.add(SAFETENSORS_INDEX)
    remove_stale_weights(folder, written)


def copy_shared_tensors(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Give every key its own storage: safetensors refuses tensors that share memory, and a tied
    encoder-decoder pair lists each shared weight under both names."""
    seen: set[int] = set()
    out = {}
    for key, tensor in tensors.items():
        out[key] = tensor.clone() if tensor.data_ptr() in seen else tensor
        seen.add(tensor.data_ptr())
    return out


def split_into_shards(tensors: dict[str, Tensor], limit: int) -> list[dict[str, Tensor]]:
    shards: list[dict[str, Tensor]] = [{}]
    size = 0
    for key in sorted(tensors):
        nbytes = tensors[key].numel() * tensors[key].element_size()
        if shards[-1] and size + nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][key] = tensors[key]
        size += nbytes
    return shards


def remove_stale_weights(folder: Path, keep: set[str]) -> None:
    for path in folder.iterdir():
        stale_shard = path.name.startswith(("model-", "pytorch_model-")) and path.suffix in (".safetensors", ".bin")
        if (path.name in WEIGHT_NAMES or stale_shard) and path.name not in keep:
            path.unlink()
