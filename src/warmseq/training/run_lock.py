"""One writer per run folder: an exclusive lock held for the life of a `warmseq train` (rank 0).

Two runs on one `--output-dir` would interleave metrics.jsonl and delete each other's checkpoints.
The lock is `fcntl.flock` on `run.lock` in the folder, with the holder's pid written inside for the
message a second writer gets. The kernel drops a flock when its process dies, so a lock file left by
a killed run is simply taken over.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

LOCK_FILE = "run.lock"


class RunFolderBusyError(OSError):
    """Another live process holds the run folder's lock."""


class RunFolderLock:
    """Held from `acquire` until `release` (or the end of a `with` block); a no-op when `active` is False."""

    def __init__(self, folder: Path, active: bool = True) -> None:
        self.path = folder / LOCK_FILE
        self.active = active
        self.descriptor: int | None = None

    def acquire(self) -> RunFolderLock:
        if not self.active:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(descriptor)
            os.close(descriptor)
            raise RunFolderBusyError(
                f"--output-dir {self.path.parent} is in use by another warmseq train (pid {holder}, lock {self.path}); "
                "wait for it to finish, stop it, or choose another folder"
            ) from None
        previous = read_holder(descriptor)
        if previous not in ("unknown", str(os.getpid())):
            logger.info("%s: taking over the lock left by pid %s, which no longer holds it", self.path, previous)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self.descriptor = descriptor
        return self

    def release(self) -> None:
        if self.descriptor is None:
            return
        os.ftruncate(self.descriptor, 0)  # no pid left behind for the next run to report
        fcntl.flock(self.descriptor, fcntl.LOCK_UN)
        os.close(self.descriptor)
        self.descriptor = None

    def __enter__(self) -> RunFolderLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


def read_holder(descriptor: int) -> str:
    text = os.pread(descriptor, 32, 0).decode("ascii", errors="replace").strip()
    return text or "unknown"
