"""Write files so that a crash never leaves a broken file under its final name.

A file is written as `.<name>.<8 random characters>.tmp` beside its final path, flushed to disk, then
renamed over the final name. A process killed in between leaves only such a temporary behind, which
`remove_stale_temporaries` deletes on the next save into that folder.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# mkstemp's names: a prefix, 8 characters from [a-z0-9_], the suffix
TEMPORARY_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temp_path)` on a temporary file beside `path`, then rename it to `path`.

    An OSError while writing (a full disk, a file size limit) is raised again naming `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        try:
            write(temp)
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
        except OSError as err:
            raise write_error(path, err) from err
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    sync_folder_entry(path.parent)


def write_error(path: Path, err: OSError) -> OSError:
    """`err` again, its message naming the file and, for a full disk, saying so."""
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        reason += " (the disk is full or a size limit was reached; an earlier file of that name is unchanged)"
    error = OSError(f"could not write {path}: {reason}")  # one argument: str() is the message alone
    error.errno = err.errno or errno.EIO
    return error


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """`data` as indented JSON with sorted keys and a final newline."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def sync_folder_entry(folder: Path) -> None:
    """fsync a folder, so that a rename into it survives a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporaries of our naming that killed saves left in `folder`; return what was deleted."""
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if TEMPORARY_NAME.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (flock on the folder itself: no lock file in a checkpoint) until
    the block ends. Saves into one folder from several processes (every rank of a job calling
    save_pretrained) then take turns; otherwise one could remove another's temporaries as stale, or its
    new shards before their index is written. Where flock is missing (Windows, some network filesystems)
    saves are not serialised."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:  # a filesystem without locks (some network mounts): saves go unserialised, as before
            pass
        yield
    finally:
        os.close(descriptor)  # releases the lock
