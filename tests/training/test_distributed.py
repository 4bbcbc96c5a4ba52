"""Two real processes on gloo (via torchrun) against one process with the doubled batch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from warmseq.training import train

CHILD = Path(__file__).parent / "child_train.py"


@pytest.mark.slow
def test_two_ranks_match_one_process_with_the_doubled_batch(stand_in_config, tmp_path: Path) -> None:
    settings = dict(dropout=0.0, max_steps=6, save_every=3, eval_every=3, grad_accum=2, label_smoothing=0.1)
    ddp_config = stand_in_config(batch_size=3, output_dir=str(tmp_path / "ddp"), **settings)
    config_path = tmp_path / "ddp_config.json"
    config_path.write_text(json.dumps(ddp_config.to_json_dict()))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(CHILD),
        str(config_path),
        "--weights-out",
        str(tmp_path),
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-4000:]

    rank0, rank1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    assert rank0 and rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[name], rank1[name]) for name in rank0)

    single = train(stand_in_config(batch_size=6, output_dir=str(tmp_path / "single"), **settings))
    single_weights = single.model.state_dict()
    for name, tensor in rank0.items():
        torch.testing.assert_close(tensor, single_weights[name], rtol=0, atol=1e-5)

    saved = load_file(str(tmp_path / "ddp" / "checkpoint-6" / "model.safetensors"))
    assert saved.keys() == rank0.keys()
    assert all(torch.equal(saved[name], rank0[name]) for name in rank0)
    rng = load_file(str(tmp_path / "ddp" / "checkpoint-6" / "rng_state.safetensors"))
    assert set(rng) == {"rank.0", "rank.1"}
    ddp_records = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    single_records = [json.loads(line) for line in (tmp_path / "single" / "metrics.jsonl").read_text().splitlines()]
    ddp_losses = [r["loss"] for r in ddp_records if r["kind"] == "train"]
    single_losses = [r["loss"] for r in single_records if r["kind"] == "train"]
    assert ddp_losses == pytest.approx(single_losses, rel=1e-5)
    ddp_validation = [r for r in ddp_records if r["kind"] == "validation"]
    assert [r["examples"] for r in ddp_validation] == [8, 8]
