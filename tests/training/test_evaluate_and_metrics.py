from __future__ import annotations

import json
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from warmseq.training import TrainConfig, evaluate, train
from warmseq.training.metrics import rouge, sacrebleu_score
from warmseq.training.plot import plot_metrics


def test_rouge_matches_rouge_score_with_stemming() -> None:
    predictions = ["Running tests for the library", "a tool"]
    references = ["Runs the tests of a library", "command-line tool for images"]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = [scorer.score(r, p) for p, r in zip(predictions, references, strict=True)]
    scores = rouge(predictions, references)
    for name in ("rouge1", "rouge2", "rougeL"):
        assert scores[name] == pytest.approx(100 * sum(e[name].fmeasure for e in expected) / 2)


def test_bleu_is_sacrebleu_corpus_score() -> None:
    assert sacrebleu_score(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="1 predictions but 2 references"):
        sacrebleu_score(["a"], ["a", "b"])


def test_evaluate_writes_predictions_and_scores(stand_in_config, data_files, tmp_path: Path) -> None:
    result = train(stand_in_config(max_steps=3, save_every=3, validation=None))
    scored = evaluate(result.last_checkpoint, data_files[1], output_dir=tmp_path / "eval", max_examples=5)
    assert scored.count == 5 and set(scored.scores) == {"rouge1", "rouge2", "rougeL"}
    lines = [json.loads(line) for line in scored.predictions_path.read_text().splitlines()]
    assert len(lines) == 5 and set(lines[0]) == {"source", "reference", "prediction"}
    summary = json.loads(scored.scores_path.read_text())
    assert summary["max_new_tokens"] == 6 and summary["num_beams"] == 1  # from the saved generation config
    assert scored.scores_path.name == "scores-validation.json"


def test_evaluate_names_a_folder_that_is_no_checkpoint(tmp_path: Path, data_files) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere: config.json is missing"):
        evaluate(tmp_path / "nowhere", data_files[1])


def test_plot_writes_pngs_next_to_metrics(tmp_path: Path) -> None:
    records = [{"kind": "train", "step": s, "loss": 3.0 / s} for s in range(1, 5)]
    records.append({"kind": "validation", "step": 4, "loss": 1.0, "rouge1": 10.0, "rouge2": 2.0, "rougeL": 9.0})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    written = plot_metrics(tmp_path / "metrics.jsonl")
    assert [p.name for p in written] == ["loss.png", "rouge.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"grad_accum": 0}, r"TrainConfig.grad_accum \(--grad-accum\) must be >= 1, got 0"),
        (
            {"schedule": "step"},
            r"TrainConfig.schedule \(--schedule\) must be one of \('linear', 'cosine', 'constant'\)",
        ),
        ({"label_smoothing": 1.0}, r"label_smoothing \(--label-smoothing\) must be in \[0, 1\), got 1.0"),
        ({"resume": True, "overwrite": True}, r"--resume and --overwrite contradict each other"),
        ({"eval_every": 5}, r"eval_every \(--eval-every\) is 5 but no --validation file is given"),
        ({"max_target_length": 1}, r"max_target_length \(--max-target-length\) must be >= 2"),
    ],
)
def test_config_errors_name_the_flag(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(encoder="e", decoder="d", train="t.jsonl", output_dir="out", **overrides)


def test_config_round_trips_through_json() -> None:
    config = TrainConfig(encoder="e", decoder="d", train="t.jsonl", output_dir="out", lr=1e-4, max_tokens=512)
    assert TrainConfig.from_json_dict(json.loads(json.dumps(config.to_json_dict()))) == config
    with pytest.raises(ValueError, match=r"unknown fields \['learning_rate'\]"):
        TrainConfig.from_json_dict({**config.to_json_dict(), "learning_rate": 1.0})
