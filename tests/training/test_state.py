from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from stand_in_model import StandInSeq2Seq

from warmseq.training import train
from warmseq.training.schedule import build_optimizer
from warmseq.training.state import complete_checkpoints, latest_checkpoint, rotate_checkpoints
from warmseq.training.state_files import load_optimizer_state, save_optimizer_state


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return load_file(str(checkpoint / "model.safetensors"))


def assert_same_weights(first: Path, second: Path) -> None:
    a, b = weights(first), weights(second)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_optimizer_state_round_trips_without_pickle(tmp_path: Path) -> None:
    model = StandInSeq2Seq(vocab_size=12)
    optimizer = build_optimizer(model, lr=1e-2, weight_decay=0.1)
    for _ in range(2):
        model.head.weight.sum().backward()
        model.rnn.weight_hh_l0.sum().backward()
        optimizer.step()
    save_optimizer_state(optimizer, tmp_path)
    restored = build_optimizer(model, lr=1.0, weight_decay=0.0)
    load_optimizer_state(restored, tmp_path)
    before, after = optimizer.state_dict(), restored.state_dict()
    assert before["param_groups"] == after["param_groups"]
    assert before["state"].keys() == after["state"].keys()
    for index, values in before["state"].items():
        for name, tensor in values.items():
            assert torch.equal(tensor, after["state"][index][name]), (index, name)
    written = list(tmp_path.iterdir())
    assert written and not any(p.suffix in (".pt", ".bin", ".pkl") for p in written)


def test_resumed_training_equals_uninterrupted(stand_in_config) -> None:
    config = stand_in_config(max_steps=8, save_every=4, keep=2, validation=None)
    straight = train(config)
    output = Path(config.output_dir)
    reference = output / "reference-8"
    shutil.copytree(output / "checkpoint-8", reference)
    shutil.rmtree(output / "checkpoint-8")  # as if the run had died after step 4's checkpoint
    resumed = train(stand_in_config(max_steps=8, save_every=4, keep=2, validation=None, resume=True))
    assert resumed.losses == straight.losses[4:]
    assert_same_weights(output / "checkpoint-8", reference)
    train_steps = [r["step"] for r in map(json.loads, (output / "metrics.jsonl").read_text().splitlines())]
    assert train_steps == list(range(1, 9))  # steps after the checkpoint are logged once


def test_rotation_keeps_the_newest_and_the_best(tmp_path: Path) -> None:
    for step in (2, 4, 6, 8):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-10").mkdir()  # unfinished: no trainer_state.json
    rotate_checkpoints(tmp_path, keep=1, best_step=4)
    assert [step for step, _ in complete_checkpoints(tmp_path)] == [4, 8]
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-8"


def test_output_folder_holding_another_run_is_refused(stand_in_config) -> None:
    train(stand_in_config(max_steps=1, validation=None))
    with pytest.raises(FileExistsError, match=r"holds a different run .*'lr: 0.01 -> 0.5'.*--overwrite"):
        train(stand_in_config(max_steps=1, validation=None, lr=0.5))
    with pytest.raises(FileExistsError, match=r"already holds this run; pass --resume .* or --overwrite"):
        train(stand_in_config(max_steps=1, validation=None))
    with pytest.raises(
        ValueError, match=r"--resume: the run in .* was started with other settings: \['seed: 3 -> 4'\]"
    ):
        train(stand_in_config(max_steps=1, validation=None, seed=4, resume=True))
    replaced = train(stand_in_config(max_steps=2, validation=None, lr=0.5, overwrite=True))
    assert replaced.step == 2 and len(replaced.losses) == 2


def test_non_empty_folder_without_a_run_is_refused(stand_in_config) -> None:
    config = stand_in_config(max_steps=1, validation=None)
    Path(config.output_dir).mkdir(parents=True)
    (Path(config.output_dir) / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"is not empty and holds no run.json"):
        train(config)
    train(stand_in_config(max_steps=1, validation=None, overwrite=True))
    assert (Path(config.output_dir) / "notes.txt").read_text() == "mine"


def test_resume_without_checkpoint_starts_from_the_beginning(stand_in_config) -> None:
    result = train(stand_in_config(max_steps=2, validation=None, resume=True))
    assert result.step == 2 and len(result.losses) == 2
