"""A save that runs out of space (simulated with RLIMIT_FSIZE in a child process: writes past the limit fail
with EFBIG, as they would with ENOSPC on a full disk) keeps the previous checkpoint and names the file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

import warmseq
from tests.robustness.tiny_checkpoint import save_tiny_pair

CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    sys.path.insert(0, {root!r})
    from tests.robustness.tiny_checkpoint import tiny_pair
    model = tiny_pair(seed=1)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    try:
        model.save_pretrained({folder!r}{shards})
    except OSError as error:
        print(type(error).__name__, error)
        sys.exit(3)
    """
)


@pytest.mark.parametrize("shards", ["", ", max_shard_size='80KB'"], ids=["single-file", "sharded"])
def test_full_disk_keeps_the_old_checkpoint_and_names_the_file(tmp_path, shards):
    folder = tmp_path / "pair"
    old = save_tiny_pair(folder, seed=0).checkpoint_state()
    before = sorted(p.name for p in folder.iterdir())
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", CHILD.format(root=root, folder=str(folder), shards=shards)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr[-2000:]
    message = done.stdout.strip()
    assert "could not write" in message and str(folder) in message and ".safetensors" in message, message
    assert "File too large" in message and "earlier file of that name is unchanged" in message, message
    assert "\n" not in message
    loaded = warmseq.EncoderDecoderModel.from_pretrained(folder).checkpoint_state()
    assert all(torch.equal(loaded[k], old[k]) for k in old) and loaded.keys() == old.keys()
    after = sorted(p.name for p in folder.iterdir())
    assert [n for n in after if not n.startswith(".")] == before
