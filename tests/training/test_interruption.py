"""A real child process killed mid-save, or sent SIGTERM, and the runs resumed after it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from warmseq.training import train
from warmseq.training.state import latest_checkpoint

CHILD = Path(__file__).parent / "child_train.py"


def start_child(config, *options: str) -> subprocess.Popen:
    config_path = Path(config.output_dir).parent / "child_config.json"
    config_path.write_text(json.dumps(config.to_json_dict()))
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(config_path), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen, expected: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if expected in line:
            return
        if not line and process.poll() is not None:
            raise AssertionError(f"child exited with {process.returncode}: {process.stderr.read()}")
    raise AssertionError(f"child never printed {expected!r}")


@pytest.mark.slow
def test_kill_during_save_leaves_the_previous_checkpoint_and_resume_matches(stand_in_config) -> None:
    straight_config = stand_in_config(max_steps=9, save_every=3, validation=None)
    straight = train(straight_config)
    reference = Path(straight_config.output_dir)

    config = stand_in_config(max_steps=9, save_every=3, validation=None, output_dir=str(reference.parent / "killed"))
    child = start_child(config, "--hang-on-save", "2")  # the save at step 6 hangs before its rename
    try:
        wait_for_line(child, "HANGING IN SAVE")
        output = Path(config.output_dir)
        assert (output / ".tmp-checkpoint-6" / "trainer_state.json").is_file()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert latest_checkpoint(output) == output / "checkpoint-3"

    resumed = train(stand_in_config(max_steps=9, save_every=3, validation=None, output_dir=str(output), resume=True))
    assert not list(output.glob(".tmp-*"))
    assert resumed.losses == straight.losses[3:]
    mine, expected = (
        load_file(str(output / "checkpoint-9" / "model.safetensors")),
        load_file(str(reference / "checkpoint-9" / "model.safetensors")),
    )
    assert expected and mine.keys() == expected.keys()
    assert all(torch.equal(mine[name], expected[name]) for name in expected)


def test_sigterm_saves_at_the_next_step_and_exits_cleanly(stand_in_config) -> None:
    config = stand_in_config(max_steps=100_000, save_every=0, log_every=1, validation=None)
    child = start_child(config)
    metrics = Path(config.output_dir) / "metrics.jsonl"
    try:
        deadline = time.monotonic() + 120
        while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 3):
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, stderr
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["stopped_by"] == "sigterm" and result["step"] < 100_000
    checkpoint = latest_checkpoint(Path(config.output_dir))
    assert checkpoint is not None and checkpoint.name == f"checkpoint-{result['step']}"
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert records[-1] == {"kind": "stop", "step": result["step"], "reason": "sigterm"}
