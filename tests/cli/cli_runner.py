"""Run `python -m warmseq` in a real subprocess (importable by name from the CLI tests)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_cli(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`python -m warmseq ARGS` with HF offline; fails the test (showing stderr) on an unexpected exit code."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-m", "warmseq", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and done.returncode != 0:
        pytest.fail(f"warmseq {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done
