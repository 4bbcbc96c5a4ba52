"""Where a checkpoint's weights live on disk, for every framework: which files, how shards are named and
indexed, and how a save replaces the files of an earlier one. Nothing here imports a tensor library: the
PyTorch side (`files.py`) and the NumPy side of the JAX and TensorFlow ports (`numpy_files.py`) bring
the functions that read and write one safetensors file, and share everything else.

A save leaves the folder holding the old weights or the new ones at every moment, never a mix: each file
is written under a temporary name and renamed; new shards never take the name of a shard in the folder (an
earlier save's shards keep serving its index until the new index replaces it, written last); weight files
the new save does not use are removed only after that. Temporaries and orphan shards of a killed save are
removed too."""

from __future__ import annotations

import errno
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from safetensors import SafetensorError

from warmseq.atomic import folder_lock, remove_stale_temporaries, write_atomic, write_text_atomic
from warmseq.checkpoints.safetensors_header import read_header
from warmseq.checkpoints.shard_index import local_shard_path, read_weight_map
from warmseq.hub import resolve_file

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
BIN_INDEX = "pytorch_model.bin.index.json"
WEIGHT_NAMES = (SAFETENSORS_NAME, SAFETENSORS_INDEX, BIN_NAME, BIN_INDEX)

Array = TypeVar("Array")
ReadFile = Callable[[Path], dict[str, Any]]  # one weight file -> its arrays


@contextmanager
def saving_into(save_directory: str | os.PathLike) -> Iterator[Path]:
    """The folder a save_pretrained writes, created if missing and held by this save until it is done
    (`atomic.folder_lock`): concurrent saves into one folder take turns, and the last one wins whole."""
    folder = Path(save_directory)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"save_pretrained: {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder):
        yield folder


def read_weights(name_or_path: str | os.PathLike, read_safetensors: ReadFile, read_bin: ReadFile) -> dict[str, Any]:
    """All arrays of a model folder or Hub id, preferring safetensors (single, then sharded) over pickled
    .bin files; `read_bin` may raise to say this side does not read pickles."""
    is_local = Path(os.fspath(name_or_path)).expanduser().is_dir()
    candidates = ((SAFETENSORS_NAME, read_safetensors, False), (SAFETENSORS_INDEX, read_safetensors, True),
                  (BIN_NAME, read_bin, False), (BIN_INDEX, read_bin, True))  # (file, reader, is a shard index)
    for name, reader, is_index in candidates:
        path = resolve_file(name_or_path, name, optional=True)
        if path is None:
            continue
        return read_sharded(path, reader, None if is_local else name_or_path) if is_index else reader(path)
    raise FileNotFoundError(f"{os.fspath(name_or_path)} has no weights: expected one of {', '.join(WEIGHT_NAMES)}")


def checked_reader(load_file: ReadFile) -> ReadFile:
    """`load_file` (one array library's safetensors reader) behind our own check of the file's header
    (duplicate names, offsets, sizes: see safetensors_header), with one error for every unreadable file."""

    def read(path: Path) -> dict[str, Any]:
        try:
            read_header(path)
            return load_file(path)
        except (SafetensorError, OSError) as err:
            raise ValueError(
                f"{path} is not a readable safetensors file ({err}); it may be truncated or only partly downloaded"
            ) from None

    return read


def read_sharded(index_path: Path, reader: ReadFile, hub_id: str | os.PathLike | None = None) -> dict[str, Any]:
    """The arrays of every shard an index names; shards come from the index's folder, or by name from the
    Hub cache when `hub_id` is given (see shard_index for what an entry may name)."""
    weight_map = read_weight_map(index_path)
    arrays: dict[str, Any] = {}
    for shard in sorted(set(weight_map.values())):
        shard_path = local_shard_path(index_path, shard) if hub_id is None else resolve_file(hub_id, shard)
        arrays.update(reader(shard_path))
    missing = sorted(set(weight_map) - set(arrays))
    if missing:
        raise ValueError(f"{index_path} lists tensors no shard holds: {', '.join(missing[:5])}")
    return arrays


def write_weights(arrays: dict[str, Array], folder: Path, max_shard_size: int | str,
                  write_file: Callable[[Path, dict[str, Array]], None], nbytes: Callable[[Array], int]) -> None:
    """Write model.safetensors, or shards plus model.safetensors.index.json when `arrays` exceed
    `max_shard_size` ("5GB", "200MB", or bytes). `write_file(path, shard)` writes one safetensors file
    in place (it runs on a temporary name); the module's docstring says how the folder changes."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    shards = split_into_shards(arrays, parse_size(max_shard_size), nbytes)
    if len(shards) == 1:
        write_atomic(folder / SAFETENSORS_NAME, lambda temp: write_reporting_errno(write_file, temp, shards[0]))
        written = {SAFETENSORS_NAME}
    else:
        names = shard_names(folder, len(shards))
        weight_map = {}
        for name, shard in zip(names, shards, strict=True):
            write_atomic(folder / name, lambda temp, shard=shard: write_reporting_errno(write_file, temp, shard))
            weight_map.update(dict.fromkeys(shard, name))
        total = sum(nbytes(array) for array in arrays.values())
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        write_text_atomic(folder / SAFETENSORS_INDEX, json.dumps(index, indent=2) + "\n")
        written = {*names, SAFETENSORS_INDEX}
    remove_stale_weights(folder, written)


def write_reporting_errno(write_file: Callable[[Path, dict[str, Array]], None], path: Path,
                          arrays: dict[str, Array]) -> None:
    """`write_file`, with the safetensors library's wrapped I/O errors (a full disk) raised as OSError."""
    try:
        write_file(path, arrays)
    except SafetensorError as err:
        number = io_errno(str(err))
        raise OSError(number, os.strerror(number) if number != errno.EIO else str(err)) from err


def parse_size(size: int | str) -> int:
    if isinstance(size, int):
        return size
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    text = size.strip().upper()
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


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


def split_into_shards(arrays: dict[str, Array], limit: int, nbytes: Callable[[Array], int]) -> list[dict[str, Array]]:
    """Consecutive runs of `arrays` in name order, each at most `limit` bytes (or one array larger)."""
    shards: list[dict[str, Array]] = [{}]
    size = 0
    for key in sorted(arrays):
        if shards[-1] and size + nbytes(arrays[key]) > limit:
            shards.append({})
            size = 0
        shards[-1][key] = arrays[key]
        size += nbytes(arrays[key])
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
