"""`warmseq train`, `evaluate` and `inspect` end to end: two steps on a tiny bert2bert, then score and describe."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import run_cli


def test_train_then_evaluate_the_run_then_inspect_its_checkpoint(
    pretrained_pair: tuple[Path, Path], data_file: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    encoder, decoder = map(str, pretrained_pair)
    trained = run_cli(
        "train", "--encoder", encoder, "--decoder", decoder, "--train", str(data_file), "--output-dir", str(run),
        "--max-steps", "2", "--batch-size", "4", "--save-every", "2", "--max-source-length", "32",
        "--max-target-length", "8", "--eval-max-new-tokens", "4", "--lr", "1e-3", "--no-show-progress",
    )  # fmt: skip
    assert f"trained to step 2 (max_steps); last checkpoint: {run / 'checkpoint-2'}" in trained.stdout
    assert json.loads((run / "run.json").read_text())["batch_size"] == 4

    predictions = tmp_path / "predictions.jsonl"
    scored = run_cli(
        "evaluate", str(run), "--data", str(data_file), "--limit", "3", "--max-new-tokens", "4",
        "--num-beams", "2", "--no-repeat-ngram-size", "1", "--length-penalty", "0.5", "--output", str(predictions),
        "--baseline", "lead", "--resamples", "100",
    )  # fmt: skip
    assert "checkpoint-2 (latest checkpoint of the run)" in scored.stderr
    assert "(3 examples)" in scored.stdout and "95% bootstrap interval, 100 resamples, seed 0" in scored.stdout
    header, *rows = [line for line in scored.stdout.splitlines() if line.startswith("  ")]
    assert header.split() == ["model", "lead", "model", "-", "lead"]
    assert [row.split()[0] for row in rows] == ["rouge1:", "rouge2:", "rougeL:"]
    assert all(row.count("[") == 3 for row in rows)  # model, lead and gain, each with its interval
    lines = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3 and set(lines[0]) == {"source", "reference", "prediction"}
    for line in lines:  # no_repeat_ngram_size=1: no token twice, so no word twice
        words = line["prediction"].split()
        assert len(words) == len(set(words)), line["prediction"]
    summary = json.loads((tmp_path / "scores-validation.json").read_text())
    assert summary["count"] == 3
    # the overrides reach generate() and are recorded beside the scores
    assert {k: summary[k] for k in ("num_beams", "no_repeat_ngram_size", "length_penalty")} == {
        "num_beams": 2, "no_repeat_ngram_size": 1, "length_penalty": 0.5}

    described = run_cli("inspect", str(run / "checkpoint-2")).stdout
    assert "encoder (bert)" in described and "decoder (bert)" in described
    assert "decoder_start_token_id=101" in described and "eos_token_id=102" in described
    as_json = json.loads(run_cli("inspect", str(run / "checkpoint-2"), "--json").stdout)
    assert as_json["is_encoder_decoder"] and as_json["parts"]["decoder"]["has_cross_attention"]


def test_train_and_evaluate_errors_are_one_line_with_exit_code_2(
    pretrained_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    encoder, decoder = map(str, pretrained_pair)
    bad_steps = run_cli(
        "train", "--encoder", encoder, "--decoder", decoder, "--train", "x.jsonl", "--output-dir", str(tmp_path),
        "--max-steps", "0", check=False,
    )  # fmt: skip
    assert bad_steps.returncode == 2
    assert bad_steps.stderr == "warmseq train: error: TrainConfig.max_steps (--max-steps) must be >= 1, got 0\n"
    not_a_run = run_cli("evaluate", str(tmp_path), "--data", "x.jsonl", check=False)
    assert not_a_run.returncode == 2 and "holds neither config.json nor complete checkpoint" in not_a_run.stderr
    assert not_a_run.stderr.count("\n") == 1
    missing = run_cli("inspect", str(tmp_path / "missing"), check=False)
    assert missing.returncode == 2 and missing.stderr.startswith("warmseq inspect: error: ")
