"""`warmseq kernels`: the machine's CPU kernel plan, measured once, read after, measured again on demand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

KINDS = ("head", "up", "down")


def test_kernels_measures_the_plan_once_then_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARMSEQ_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("WARMSEQ_CPU_KERNELS", raising=False)
    first = run_cli("kernels", "--threads", "1").stdout.splitlines()
    assert first[0].endswith("| 1 threads") and first[1].startswith(f"measured into {tmp_path}")
    assert [line.split()[0] for line in first[2:5]] == list(KINDS)
    assert all(len(line.split()) == 10 for line in first[2:5])  # the kind, then nine row buckets
    assert first[-1].startswith("  training products: ")
    (kept,) = tmp_path.glob("kernel-plan-*.json")
    written = kept.stat().st_mtime_ns
    second = run_cli("kernels", "--threads", "1").stdout.splitlines()
    assert second[1] == f"read from {kept}" and second[2:] == first[2:]
    assert kept.stat().st_mtime_ns == written
    plan = json.loads(run_cli("kernels", "--threads", "1", "--json").stdout)
    assert plan["machine"] == first[0].removeprefix("CPU kernel plan for ") and set(plan["rankings"]) == set(KINDS)


def test_kernels_with_the_cpu_paths_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARMSEQ_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("WARMSEQ_CPU_KERNELS", "0")
    assert run_cli("kernels").stdout == "CPU paths off (WARMSEQ_CPU_KERNELS=0): every product is F.linear\n"
    refused = run_cli("kernels", "--measure", check=False)
    assert refused.returncode == 2 and refused.stderr.startswith("warmseq kernels: error: WARMSEQ_CPU_KERNELS=0")
    bad = run_cli("kernels", "--threads", "0", check=False)
    assert bad.returncode == 2 and "at least 1, got '0'" in bad.stderr
    assert not list(tmp_path.iterdir())  # nothing measured, nothing kept
