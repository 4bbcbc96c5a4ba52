"""Kill a real `save_pretrained` at every file-system step and report what the folder then loads as.

usage: python save_killer.py WORK_DIR OLD_SIZE:NEW_SIZE ...   (max_shard_size of each save, or "none")

The driver saves an old tiny pair into a folder, then, for kill point n = 1, 2, ...: copies that
folder, forks a child that runs the new pair's `save_pretrained` into the copy and SIGKILLs itself
just before its n-th call of os.replace / os.rename / os.unlink / os.fsync, and loads what is left
with `from_pretrained`. It prints one JSON line per kill point (`old`, `new`, `mixed` or the load error),
then whether a later complete save left any temporary or stale file behind. It stops at the first n
that the save survives. One thread (set before torch loads) so that forking is safe.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

import warmseq  # noqa: E402
from tests.robustness.tiny_checkpoint import tiny_pair  # noqa: E402

COUNTED = ("replace", "rename", "unlink", "fsync")
MAX_POINTS = 400


def kill_at(point: int) -> None:
    """From now on, this process SIGKILLs itself instead of making its `point`-th counted call."""
    calls = {"n": 0}
    for name in COUNTED:
        original = getattr(os, name)

        def counted(*args: object, _original: object = original, **kwargs: object) -> object:
            calls["n"] += 1
            if calls["n"] == point:
                os.kill(os.getpid(), signal.SIGKILL)
            return _original(*args, **kwargs)

        setattr(os, name, counted)


def save(model: warmseq.EncoderDecoderModel, folder: Path, shard_size: str) -> None:
    if shard_size == "none":
        model.save_pretrained(folder)
    else:
        model.save_pretrained(folder, max_shard_size=shard_size)


def classify(folder: Path, old: dict, new: dict) -> str:
    try:
        loaded = warmseq.EncoderDecoderModel.from_pretrained(folder).checkpoint_state()
    except Exception as error:  # reported, and the test fails on it
        return f"error: {type(error).__name__}: {error}"
    if loaded.keys() == old.keys() and all(torch.equal(loaded[k], old[k]) for k in old):
        return "old"
    if loaded.keys() == new.keys() and all(torch.equal(loaded[k], new[k]) for k in new):
        return "new"
    return "mixed"


def run_scenario(work: Path, old_size: str, new_size: str) -> None:
    old_model, new_model = tiny_pair(seed=0), tiny_pair(seed=1)
    old, new = old_model.checkpoint_state(), new_model.checkpoint_state()
    work.mkdir()
    pristine = work / "pristine"
    save(old_model, pristine, old_size)
    for point in range(1, MAX_POINTS):
        folder = work / f"kill-{point}"
        shutil.copytree(pristine, folder)
        child = os.fork()
        if child == 0:
            kill_at(point)
            save(new_model, folder, new_size)
            os._exit(0)
        _, status = os.waitpid(child, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        outcome = classify(folder, old, new)
        left = sorted(p.name for p in folder.iterdir())
        save(new_model, folder, new_size)  # the next complete save cleans what the killed one left
        after = sorted(p.name for p in folder.iterdir())
        record = {"point": point, "killed": killed, "outcome": outcome, "left": left, "after": after}
        print(json.dumps({"scenario": f"{old_size}:{new_size}", **record}), flush=True)
        shutil.rmtree(folder)
        if not killed:
            return


if __name__ == "__main__":
    torch.set_num_threads(1)
    for number, scenario in enumerate(sys.argv[2:]):
        run_scenario(Path(sys.argv[1]) / str(number), *scenario.split(":"))
