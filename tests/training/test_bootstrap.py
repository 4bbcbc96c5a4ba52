"""Bootstrap confidence intervals of mean ROUGE, and evaluate's lead baseline beside the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from warmseq.training import evaluate, train
from warmseq.training.baselines import baseline_outputs, lead_sentence
from warmseq.training.bootstrap import bootstrap_intervals
from warmseq.training.metrics import rouge, rouge_per_example


def scores_of(count: int, seed: int = 1) -> list[float]:
    return list(np.random.default_rng(seed).uniform(0.0, 100.0, size=count))


def test_the_interval_covers_the_mean_and_narrows_with_more_examples() -> None:
    widths = []
    for count in (50, 200, 800, 3200):
        interval = bootstrap_intervals({"rougeL": scores_of(count)})["rougeL"]["system"]
        assert interval.low < interval.mean < interval.high
        assert interval.mean == pytest.approx(float(np.mean(scores_of(count))))
        widths.append(interval.high - interval.low)
    assert all(wider > narrower for wider, narrower in zip(widths, widths[1:], strict=False))
    # about 1/sqrt(n): four times the examples, about half the width (uniform scores: sd 28.9, 95% ~ 3.92 sd/sqrt n)
    assert widths[-1] == pytest.approx(3.92 * 28.87 / np.sqrt(3200), rel=0.15)
    assert widths[0] / widths[-1] == pytest.approx(8.0, rel=0.3)


def test_intervals_are_seeded_and_the_paired_difference_is_narrower() -> None:
    system = scores_of(400, seed=2)
    noise = np.random.default_rng(3).normal(0.0, 5.0, size=400)
    baseline = list(np.asarray(system) - 10.0 + noise)  # the same hard and easy examples, ~10 points lower
    first = bootstrap_intervals({"rougeL": system}, {"rougeL": baseline}, seed=7)["rougeL"]
    again = bootstrap_intervals({"rougeL": system}, {"rougeL": baseline}, seed=7)["rougeL"]
    other = bootstrap_intervals({"rougeL": system}, {"rougeL": baseline}, seed=8)["rougeL"]
    assert first == again and first["system"] != other["system"]
    gain = first["difference"]
    assert gain.mean == pytest.approx(first["system"].mean - first["baseline"].mean)
    assert gain.low < 10.0 < gain.high
    assert gain.high - gain.low < 0.5 * (first["system"].high - first["system"].low)  # paired: the shared part cancels


def test_bootstrap_refuses_mismatched_or_empty_scores() -> None:
    with pytest.raises(ValueError, match=r"one value per example; got lengths \[2, 3\]"):
        bootstrap_intervals({"rougeL": [1.0, 2.0]}, {"rougeL": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="no examples to resample"):
        bootstrap_intervals({"rougeL": []})
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 1.5"):
        bootstrap_intervals({"rougeL": [1.0]}, confidence=1.5)


def test_per_example_rouge_averages_to_the_corpus_mean() -> None:
    predictions, references = ["a tool for images", "library of tests"], ["command-line tool for images", "tests"]
    columns = rouge_per_example(predictions, references)
    assert all(len(column) == 2 for column in columns.values())
    assert {name: sum(column) / 2 for name, column in columns.items()} == pytest.approx(rouge(predictions, references))


def test_lead_sentence() -> None:
    assert lead_sentence("Tool for X. It does Y.") == "Tool for X."
    assert lead_sentence("Version 2.0 of the tool is out") == "Version 2.0 of the tool is out"
    assert lead_sentence("First line\nsecond line. More") == "First line"
    with pytest.raises(ValueError, match=r"baseline 'tail' is unknown; expected one of \['lead'\]"):
        baseline_outputs("tail", ["x"])


def test_evaluate_reports_the_lead_baseline_on_the_same_examples(stand_in_config, data_files, tmp_path: Path) -> None:
    result = train(stand_in_config(max_steps=2, save_every=2, validation=None))
    scored = evaluate(result.last_checkpoint, data_files[1], output_dir=tmp_path / "eval", max_examples=6,
                      baseline="lead", resamples=200)
    records = [json.loads(line) for line in data_files[1].read_text().splitlines()][:6]
    lead = rouge([lead_sentence(r["text"]) for r in records], [r["summary"] for r in records])
    assert scored.baseline == "lead" and set(scored.intervals) == {"rouge1", "rouge2", "rougeL"}
    for name, parts in scored.intervals.items():
        assert parts["baseline"].mean == pytest.approx(lead[name])
        assert parts["system"].mean == pytest.approx(scored.scores[name])
        assert parts["system"].low <= parts["system"].mean <= parts["system"].high
    summary = json.loads(scored.scores_path.read_text())
    assert summary["baseline"] == "lead" and summary["intervals"]["resamples"] == 200
    assert summary["intervals"]["rougeL"]["baseline"]["mean"] == pytest.approx(lead["rougeL"])
