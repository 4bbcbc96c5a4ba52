"""Run folders under faults: one writer at a time, resume past a broken checkpoint, data with nothing to
learn, missing optional packages."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

import pytest
from test_interruption import start_child, wait_for_line

from warmseq.training import train
from warmseq.training.extras import MissingExtraError
from warmseq.training.records import read_text_pairs
from warmseq.training.run_lock import LOCK_FILE, RunFolderBusyError


@pytest.mark.slow
def test_second_writer_is_refused_naming_the_holder_and_a_dead_holder_is_taken_over(stand_in_config) -> None:
    config = stand_in_config(max_steps=6, save_every=3, validation=None)
    holder = start_child(config, "--hang-on-save", "1")  # a real `train` that stops inside its first save
    try:
        wait_for_line(holder, "HANGING IN SAVE")
        lock = Path(config.output_dir) / LOCK_FILE
        assert lock.read_text().strip() == str(holder.pid)
        second = stand_in_config(max_steps=6, save_every=3, validation=None, resume=True)
        with pytest.raises(RunFolderBusyError, match=rf"in use by another warmseq train \(pid {holder.pid}\b"):
            train(second)
        assert not (Path(config.output_dir) / "checkpoint-3").exists()  # the refused run touched nothing
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert lock.read_text().strip() == str(holder.pid)  # left behind by the killed run
    resumed = train(stand_in_config(max_steps=6, save_every=3, validation=None, resume=True))
    assert resumed.step == 6
    assert lock.read_text().strip() == ""  # released at the end


def test_lock_is_released_when_setting_up_fails(stand_in_config, tmp_path) -> None:
    bad_data = tmp_path / "empty_targets.jsonl"
    bad_data.write_text("".join(json.dumps({"text": f"words {i}", "summary": ""}) + "\n" for i in range(5)))
    config = stand_in_config(train=str(bad_data), validation=None)
    with pytest.raises(ValueError, match=r"all 5 targets are empty"):
        train(config)
    from warmseq.training.run_lock import RunFolderLock

    RunFolderLock(Path(config.output_dir)).acquire().release()  # would raise if the failed run still held it


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", ["truncated optimizer", "missing weights", "broken trainer state"])
def test_resume_falls_back_past_a_broken_newest_checkpoint(stand_in_config, caplog, damage) -> None:
    first = train(stand_in_config(max_steps=6, save_every=3, validation=None))
    newest = Path(first.last_checkpoint)
    assert newest.name == "checkpoint-6"
    broken = {
        "truncated optimizer": lambda: truncate(newest / "optimizer.safetensors"),
        "missing weights": lambda: (newest / "model.safetensors").unlink(),
        "broken trainer state": lambda: (newest / "trainer_state.json").write_text('{"step": 6}'),
    }
    broken[damage]()
    with caplog.at_level(logging.WARNING):
        resumed = train(stand_in_config(max_steps=8, save_every=3, validation=None, resume=True))
    notes = [r.getMessage() for r in caplog.records if "--resume" in r.getMessage()]
    assert len(notes) == 1 and "checkpoint-6 cannot be resumed from" in notes[0], notes
    assert "resuming from checkpoint-3" in notes[0]
    assert len(resumed.losses) == 5  # steps 4..8


def test_resume_with_only_broken_checkpoints_stops_naming_them(stand_in_config) -> None:
    first = train(stand_in_config(max_steps=6, save_every=3, validation=None))
    output = Path(first.output_dir)
    for folder in output.glob("checkpoint-*"):
        truncate(folder / "optimizer.safetensors")
    with pytest.raises(ValueError, match=r"no checkpoint .* be resumed from: checkpoint-6 .*optimizer\.safetensors"):
        train(stand_in_config(max_steps=8, save_every=3, validation=None, resume=True))


def test_mostly_empty_targets_warn_with_the_count(stand_in_config, tmp_path, caplog) -> None:
    data = tmp_path / "sparse.jsonl"
    records = [{"text": f"package {i} does things", "summary": "" if i % 4 else "a tool"} for i in range(8)]
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    with caplog.at_level(logging.WARNING):
        train(stand_in_config(train=str(data), validation=None, max_steps=1, save_every=0))
    assert any("6 of 8 targets are empty" in r.getMessage() for r in caplog.records)


def test_sources_that_truncate_to_nothing_stop_before_training(stand_in_config, tmp_path) -> None:
    data = tmp_path / "blank_sources.jsonl"
    data.write_text("".join(json.dumps({"text": "   ", "summary": "a tool"}) + "\n" for _ in range(4)))
    config = stand_in_config(train=str(data), validation=None)
    with pytest.raises(ValueError, match=r"blank_sources\.jsonl: all 4 sources are empty"):
        train(config)
    assert not list(Path(config.output_dir).glob("checkpoint-*"))


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_invalid_utf8_names_file_and_line(tmp_path, suffix) -> None:
    path = tmp_path / f"data{suffix}"
    good = '{"text": "a", "summary": "b"}\n' if suffix == ".jsonl" else "text,summary\n"
    bad = b'{"text": "caf\xe9", "summary": "b"}\n' if suffix == ".jsonl" else b"caf\xe9,b\n"
    path.write_bytes(good.encode() * 2 + bad)
    with pytest.raises(ValueError, match=rf"data{suffix}, line 3: not valid UTF-8 \(byte 0xe9"):
        read_text_pairs(path, "text", "summary")


def test_missing_matplotlib_skips_the_plots_with_an_early_warning(stand_in_config, monkeypatch, caplog) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    config = stand_in_config(max_steps=2, save_every=0, validation=None)
    with caplog.at_level(logging.INFO):
        result = train(config)
    assert result.step == 2
    messages = [r.getMessage() for r in caplog.records]
    warning = next(i for i, m in enumerate(messages) if "matplotlib is not installed" in m)
    assert 'pip install "warmseq[train]"' in messages[warning]
    assert not (Path(config.output_dir) / "loss.png").exists()
    assert json.loads((Path(config.output_dir) / "metrics.jsonl").read_text().splitlines()[0])["step"] == 1


def test_missing_rouge_score_stops_before_the_first_step(stand_in_config, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "rouge_score", None)
    config = stand_in_config(max_steps=4, eval_every=2)
    with pytest.raises(MissingExtraError, match=r'rouge-score package: pip install "warmseq\[train\]"'):
        train(config)
    assert not (Path(config.output_dir) / "metrics.jsonl").exists()
