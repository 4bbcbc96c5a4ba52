"""One holder at a time across threads and processes, for work whose result is kept in a file.

Several processes that start on one machine (a `torchrun` job, a server's workers, a test run's children)
may all find a kept result missing at once. Without a lock each would redo the work, and work that is a
measurement would be measured while the others load the machine. `exclusive_lock` makes the others wait
for the first holder, then read what it kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: threads still wait for each other, processes do not
    fcntl = None

_THREADS = threading.Lock()  # flock's locks belong to the process, so its threads take turns here first


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold `path` (a lock file, created if missing) exclusively while the block runs. Where the file cannot
    be opened (a read-only folder), only the threads of this process wait for each other."""
    with _THREADS:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")  # noqa: SIM115 - closed below, after the lock is released
        except OSError:
            yield
            return
        with handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the handle closes, or the process ends
            yield
