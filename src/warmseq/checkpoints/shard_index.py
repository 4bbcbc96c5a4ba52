"""A sharded checkpoint's index (`model.safetensors.index.json`), read as untrusted input.

Every shard the index names must be a plain file name in the index's own folder: no `../x`, no
absolute path, no sub-folder, and, in a local folder, no symlink that leads out of it. Otherwise a
downloaded folder could make the loader read any file on the machine. (A Hub cache snapshot is a
folder of symlinks into the cache's blob store by design; there shards are fetched by name instead.)
"""

from __future__ import annotations

import json
from pathlib import Path

from warmseq.checkpoints.safetensors_header import DuplicateKeyError, reject_duplicates


def read_weight_map(index_path: Path) -> dict[str, str]:
    """Tensor name -> shard file name, every entry checked to be a plain name."""
    try:
        data = json.loads(index_path.read_text(encoding="utf-8"), object_pairs_hook=reject_duplicates)
    except DuplicateKeyError as duplicate:
        raise ValueError(f"{index_path} lists {duplicate} more than once") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{index_path} is not a valid shard index (not JSON: {err})") from None
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        raise ValueError(f"{index_path} is not a valid shard index (expected an object with a 'weight_map' object)")
    for key, shard in weight_map.items():
        check_shard_name(index_path, key, shard)
    return weight_map


def check_shard_name(index_path: Path, key: str, shard: object) -> None:
    plain = (
        isinstance(shard, str)
        and shard not in ("", ".", "..")
        and "/" not in shard
        and "\\" not in shard
        and "\0" not in shard
        and Path(shard).name == shard
    )
    if not plain:
        raise ValueError(
            f"{index_path}: entry {key!r} names shard {shard!r}; a shard must be a plain file name "
            "inside the checkpoint folder"
        )


def local_shard_path(index_path: Path, shard: str) -> Path:
    """The shard's path beside a local index; refuses a symlink that resolves outside the folder."""
    folder = index_path.parent.resolve()
    path = index_path.parent / shard
    if path.resolve().parent != folder:
        raise ValueError(
            f"{index_path}: shard {shard!r} is a link to {path.resolve()}, outside {folder}; refusing to read it"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{index_path} lists shard {shard}, which is missing from {index_path.parent}")
    return path
