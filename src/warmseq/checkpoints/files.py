"""Weight files in and out: model.safetensors (single or sharded) and legacy pytorch_model.bin."""

from __future__ import annotations

import errno
import json
import os
import secrets
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from warmseq.atomic import remove_stale_temporaries, write_atomic, write_text_atomic
from warmseq.checkpoints.safetensors_header import read_header
from warmseq.checkpoints.shard_index import local_shard_path, read_weight_map
from warmseq.hub import resolve_file

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
BIN_INDEX = "pytorch_model.bin.index.json"
WEIGHT_NAMES = (SAFETENSORS_NAME, SAFETENSORS_INDEX, BIN_NAME, BIN_INDEX)


def load_state_dict(name_or_path: str | os.PathLike) -> dict[str, Tensor]:
    """All tensors of a model folder or Hub id, preferring safetensors over pickled .bin files."""
    is_local = Path(os.fspath(name_or_path)).expanduser().is_dir()
    for name, reader in ((SAFETENSORS_NAME, read_safetensors), (SAFETENSORS_INDEX, None),
                         (BIN_NAME, read_bin), (BIN_INDEX, None)):
        path = resolve_file(name_or_path, name, optional=True)
        if path is None:
            continue
        if reader is not None:
            return reader(path)
        return read_sharded(path, None if is_local else name_or_path)
    raise FileNotFoundError(
        f"{os.fspath(name_or_path)} has no weights: expected one of {', '.join(WEIGHT_NAMES)}"
    )


def read_safetensors(path: Path) -> dict[str, Tensor]:
    """The file's tensors, its header checked first (duplicate names, offsets, sizes: see safetensors_header)."""
    try:
        read_header(path)
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


def read_sharded(index_path: Path, hub_id: str | os.PathLike | None = None) -> dict[str, Tensor]:
    """The tensors of every shard an index names; shards come from the index's folder, or by name from
    the Hub cache when `hub_id` is given (see shard_index for what an entry may name)."""
    weight_map = read_weight_map(index_path)
    state: dict[str, Tensor] = {}
    reader = read_bin if index_path.name == BIN_INDEX else read_safetensors
    for shard in sorted(set(weight_map.values())):
        if hub_id is None:
            shard_path = local_shard_path(index_path, shard)
        else:
            shard_path = resolve_file(hub_id, shard)
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

    The folder holds the old weights or the new ones at every moment, never a mix: each file is
    written under a temporary name and renamed; new shards never take the name of a shard in the folder
    (an earlier save's shards keep serving its index until the new index replaces it, written last);
    weight files the new save does not use are removed only after that. Temporaries and orphan shards
    of a killed save are removed here too."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    tensors = copy_shared_tensors({k: v.detach().contiguous().cpu() for k, v in state.items()})
    shards = split_into_shards(tensors, parse_size(max_shard_size))
    if len(shards) == 1:
        write_safetensors(folder / SAFETENSORS_NAME, shards[0])
        written = {SAFETENSORS_NAME}
    else:
        names = shard_names(folder, len(shards))
        weight_map = {}
        for name, shard in zip(names, shards, strict=True):
            write_safetensors(folder / name, shard)
            weight_map.update(dict.fromkeys(shard, name))
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        write_text_atomic(folder / SAFETENSORS_INDEX, json.dumps(index, indent=2) + "\n")
        written = {*names, SAFETENSORS_INDEX}
    remove_stale_weights(folder, written)


def write_safetensors(path: Path, tensors: dict[str, Tensor]) -> None:
    def write(temp: Path) -> None:
        try:
            save_file(tensors, temp, metadata={"format": "pt"})
        except SafetensorError as err:  # the library wraps I/O errors (a full disk) in its own type
            number = io_errno(str(err))
            raise OSError(number, os.strerror(number) if number != errno.EIO else str(err)) from err

    write_atomic(path, write)


def io_errno(message: str) -> int:
    """The errno in a safetensors message such as '... File too large (os error 27)', else EIO."""
    number = message.rpartition("(os error ")[2].rstrip(")")
    return int(number) if number.isdigit() else errno.EIO


def shard_names(folder: Path, count: int) -> list[str]:
    """The usual `model-00001-of-0000N.safetensors` names, or, when one of them is taken by an earlier
    save, the same names with a suffix unique to this save, so no shard an old index names is overwritten."""
    names = [f"model-{number:05d}-of-{count:05d}.safetensors" for number in range(1, count + 1)]
    if not any((folder / name).exists() for name in names):
        return names
    suffix = secrets.token_hex(4)
    return [name.replace(".safetensors", f"-{suffix}.safetensors") for name in names]


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
    """Delete weight files other than `keep`. A new model.safetensors is committed by its rename; new shards
    by their index; an old model.safetensors, which loaders prefer to an index, is removed first."""
    stale = []
    for path in folder.iterdir():
        stale_shard = path.name.startswith(("model-", "pytorch_model-")) and path.suffix in (".safetensors", ".bin")
        if (path.name in WEIGHT_NAMES or stale_shard) and path.name not in keep:
            stale.append(path)
    for path in sorted(stale, key=lambda p: p.name != SAFETENSORS_NAME):
        path.unlink(missing_ok=True)
