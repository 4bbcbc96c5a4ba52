"""Confidence intervals for mean scores by bootstrap resampling of the examples (seeded, percentile method).

A system and a baseline scored on the same examples are resampled with the same indices, so the interval of
their difference is a paired one: it is narrower than the two intervals side by side suggest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean score and its bootstrap confidence interval, in the scores' own units."""

    mean: float
    low: float
    high: float

    def to_json_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high}

    def __str__(self) -> str:
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


def resampled_rows(count: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, count) example indices drawn with replacement."""
    if count < 1:
        raise ValueError("bootstrap: there are no examples to resample")
    return np.random.default_rng(seed).integers(0, count, size=(resamples, count))


def interval_of(values: np.ndarray, rows: np.ndarray, confidence: float) -> Interval:
    """The mean of `values` and the central `confidence` share of its means over `rows`."""
    means = values[rows].mean(axis=1)  # (resamples,)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return Interval(float(values.mean()), float(low), float(high))


def bootstrap_intervals(
    scores: Mapping[str, Sequence[float]],
    baseline: Mapping[str, Sequence[float]] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> dict[str, dict[str, Interval]]:
    """Per score name: {"system": ...} and, given a baseline on the same examples, "baseline" and
    "difference" (system minus baseline, paired). `scores` maps a name to one value per example."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"bootstrap: confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"bootstrap: resamples must be >= 1, got {resamples}")
    counts = {len(values) for values in scores.values()} | {len(values) for values in (baseline or {}).values()}
    if len(counts) != 1:
        raise ValueError(f"bootstrap: every score needs one value per example; got lengths {sorted(counts)}")
    rows = resampled_rows(counts.pop(), resamples, seed)
    out: dict[str, dict[str, Interval]] = {}
    for name, values in scores.items():
        system = np.asarray(values, dtype=np.float64)
        out[name] = {"system": interval_of(system, rows, confidence)}
        if baseline is not None:
            reference = np.asarray(baseline[name], dtype=np.float64)
            out[name]["baseline"] = interval_of(reference, rows, confidence)
            out[name]["difference"] = interval_of(system - reference, rows, confidence)
    return out
