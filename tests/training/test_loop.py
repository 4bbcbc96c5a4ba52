from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from warmseq.training import NonFiniteLossError, TrainConfig, train
from warmseq.training.model_loading import capped_lengths, resolve_special_ids
from warmseq.training.setup import cpu_has_native_bf16


def read_metrics(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_training_lowers_loss_and_writes_metrics_plots_checkpoints(stand_in_config) -> None:
    config = stand_in_config(max_steps=12, eval_every=6, save_every=4, keep=1, lr=2e-2)
    result = train(config)
    output = Path(config.output_dir)
    assert result.step == 12 and result.stopped_by == "max_steps"
    assert len(result.losses) == 12
    assert sum(result.losses[-3:]) < sum(result.losses[:3])
    records = read_metrics(output)
    train_records = [r for r in records if r["kind"] == "train"]
    validation_records = [r for r in records if r["kind"] == "validation"]
    assert [r["step"] for r in train_records] == list(range(1, 13))
    assert {"loss", "lr", "tokens_per_s", "grad_norm", "epoch"} <= set(train_records[0])
    assert [r["step"] for r in validation_records] == [6, 12]
    assert {"loss", "rouge1", "rouge2", "rougeL", "samples"} <= set(validation_records[0])
    assert len(validation_records[0]["samples"]) == 3
    assert (output / "loss.png").stat().st_size > 0 and (output / "rouge.png").stat().st_size > 0
    checkpoints = sorted(p.name for p in output.glob("checkpoint-*"))
    kept = {"checkpoint-12", f"checkpoint-{result.best_checkpoint.name.split('-')[1]}"}
    assert set(checkpoints) == kept
    assert (output / "checkpoint-12" / "trainer_state.json").is_file()
    assert (output / "checkpoint-12" / "vocab.txt").is_file()
    assert json.loads((output / "checkpoint-12" / "generation_config.json").read_text())["eos_token_id"] == 3


def test_special_ids_come_from_the_bert_tokenizer(stand_in_config) -> None:
    result = train(stand_in_config(max_steps=1, validation=None))
    config = result.model.config
    assert (config.decoder_start_token_id, config.eos_token_id, config.pad_token_id) == (2, 3, 0)


def test_given_special_ids_win(stand_in_config) -> None:
    result = train(stand_in_config(max_steps=1, validation=None, decoder_start_token_id=4, eos_token_id=1))
    assert (result.model.config.decoder_start_token_id, result.model.config.eos_token_id) == (4, 1)


def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_checkpoint(stand_in_config, stand_in) -> None:
    original_forward = stand_in.forward
    calls = {"count": 0}

    def forward_that_diverges(self, *args, **kwargs):
        output = original_forward(self, *args, **kwargs)
        calls["count"] += 1
        if calls["count"] == 5:
            output.loss = output.loss * math.nan
        return output

    stand_in.forward = forward_that_diverges
    config = stand_in_config(max_steps=8, save_every=3, validation=None)
    try:
        with pytest.raises(NonFiniteLossError, match=r"step 5: the loss is nan.*checkpoint-3"):
            train(config)
    finally:
        stand_in.forward = original_forward
    assert sorted(p.name for p in Path(config.output_dir).glob("checkpoint-*")) == ["checkpoint-3"]
    assert read_metrics(Path(config.output_dir))[-1] == {"kind": "stop", "step": 5, "reason": "non-finite loss"}


def test_fp16_on_cpu_is_refused(stand_in_config) -> None:
    with pytest.raises(ValueError, match=r"precision.*'fp16' needs a CUDA device"):
        train(stand_in_config(precision="fp16", device="cpu"))


def test_bf16_on_cpu_trains_where_the_cpu_has_bf16_products(stand_in_config, tmp_path: Path) -> None:
    if not cpu_has_native_bf16():
        with pytest.raises(ValueError, match=r"'bf16' on CPU needs bf16 products in hardware"):
            train(stand_in_config(precision="bf16", device="cpu"))
        return
    exact = train(stand_in_config(max_steps=3, validation=None, output_dir=str(tmp_path / "fp32")))
    mixed = train(stand_in_config(max_steps=3, validation=None, output_dir=str(tmp_path / "bf16"), precision="bf16"))
    assert len(mixed.losses) == 3 and next(mixed.model.parameters()).dtype == torch.float32
    # the same data and initial weights: bf16 products move the first loss by far less than a percent
    assert mixed.losses[0] == pytest.approx(exact.losses[0], rel=0.02)
    assert mixed.losses[0] != exact.losses[0]  # and the products did run in bf16


def test_progress_bar_shows_loss_lr_and_tokens_per_second(stand_in_config, capsys) -> None:
    train(stand_in_config(max_steps=2, validation=None, show_progress=True))
    progress = capsys.readouterr().err
    assert "loss=" in progress and "lr=" in progress and "tok_s=" in progress


def test_gpt2_like_decoder_tokenizer_gives_bos_and_eos() -> None:
    gpt2 = SimpleNamespace(
        cls_token_id=None, sep_token_id=None, bos_token_id=50256, eos_token_id=50256, pad_token_id=None
    )
    bert = SimpleNamespace(pad_token_id=0, eos_token_id=None)
    ids = resolve_special_ids(bert, gpt2)
    assert (ids.decoder_start, ids.eos, ids.pad, ids.source_pad) == (50256, 50256, 50256, 0)
    with pytest.raises(ValueError, match="neither sep_token_id nor eos_token_id; pass --eos-token-id"):
        resolve_special_ids(bert, SimpleNamespace(cls_token_id=1))


def test_lengths_are_cut_to_the_position_tables(stand_in, caplog) -> None:
    model = stand_in(vocab_size=10, max_positions=32)
    config = TrainConfig(
        encoder="e", decoder="d", train="t", output_dir="o", max_source_length=100, max_target_length=40
    )
    with caplog.at_level(logging.INFO):
        assert capped_lengths(config, model) == (32, 32)
    assert "--max-target-length 40 exceeds the decoder's 32 positions" in caplog.text


def test_time_budget_stops_after_the_step_and_saves(stand_in_config) -> None:
    config = stand_in_config(max_steps=50, max_minutes=1e-12, save_every=100)
    result = train(config)
    assert result.step == 1 and result.stopped_by == "max_minutes"
    assert (Path(config.output_dir) / "checkpoint-1").is_dir()
    assert read_metrics(Path(config.output_dir))[-1] == {"kind": "stop", "step": 1, "reason": "max_minutes"}
