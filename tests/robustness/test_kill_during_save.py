"""save_pretrained killed (SIGKILL, a real child process) at every file-system step: the folder then loads
as exactly the old or exactly the new weights, and the next save leaves no temporary or stale file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

KILLER = Path(__file__).parent / "save_killer.py"
SHARDS = "80KB"  # the tiny pair's ~200 KB of weights in 3 shards
SCENARIOS = {
    "single-file": ["none:none", f"{SHARDS}:none"],
    "sharded": [f"none:{SHARDS}", f"{SHARDS}:{SHARDS}"],
}


def fast_work_dir(tmp_path: Path) -> Path:
    """A folder in memory when there is one: each kill point fsyncs dozens of files."""
    shm = Path("/dev/shm")
    if shm.is_dir():
        return Path(tempfile.mkdtemp(dir=shm, prefix="warmseq-kill-"))
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_killed_save_leaves_old_or_new_never_a_mix(tmp_path, kind):
    work = fast_work_dir(tmp_path)
    try:
        done = subprocess.run([sys.executable, str(KILLER), str(work), *SCENARIOS[kind]],
                              capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    points = [json.loads(line) for line in done.stdout.splitlines()]
    killed = [p for p in points if p["killed"]]
    assert len(killed) >= 20, f"only {len(killed)} kill points"
    print(f"{kind}: {len(killed)} kill points, outcomes {sorted({p['outcome'] for p in killed})}")
    for scenario in SCENARIOS[kind]:
        ran = [p for p in points if p["scenario"] == scenario]
        assert ran and not ran[-1]["killed"], f"{scenario}: the last save should have completed"
        assert ran[-1]["outcome"] == "new"
    bad = [(p["scenario"], p["point"], p["outcome"]) for p in killed if p["outcome"] not in ("old", "new")]
    assert not bad, f"killed saves that load as neither old nor new: {bad}"
    outcomes = {p["outcome"] for p in killed}
    assert outcomes == {"old", "new"}, f"kill points should see both states, saw {outcomes}"
    for point in points:
        names = point["after"]
        assert not [n for n in names if n.endswith(".tmp")], f"temporaries left after a complete save: {point}"
        weights = [n for n in names if n.startswith("model")]
        single = point["scenario"].endswith(":none")
        assert weights == ["model.safetensors"] if single else (
            "model.safetensors.index.json" in weights and len(weights) == 4
        ), f"stale weight files after a complete save: {point}"
