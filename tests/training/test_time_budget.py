"""--max-minutes without --max-steps: the budget sizes the run and its learning-rate schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warmseq.training import TrainConfig, train
from warmseq.training import time_budget as time_budget_module
from warmseq.training.schedule import LearningRateSchedule, default_learning_rate, warmup_for
from warmseq.training.state import TRAINER_STATE
from warmseq.training.time_budget import TimeBudget


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_estimate_follows_the_measured_step_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(time_budget_module.time, "monotonic", clock)
    budget = TimeBudget(seconds=100.0, start_step=0)
    assert budget.estimated_total(0) is None  # nothing timed yet
    clock.now += 10.0  # the first step pays for allocation and kernel choice: timed from its end on
    budget.step_finished(1)
    assert budget.estimated_total(1) is None
    clock.now += 4.0
    budget.step_finished(3)
    assert budget.estimated_total(3) == 3 + 43  # 2 s per step since the first step; 86 s left
    clock.now += 2.0 * 43
    assert budget.estimated_total(46) == 46  # spent: no further step fits
    resumed = TimeBudget(seconds=100.0, start_step=46, spent_before=50.0)
    clock.now += 5.0
    resumed.step_finished(47)
    clock.now += 5.0
    assert resumed.estimated_total(48) == 48 + 8  # 5 s per step, 40 s left of the budget
    assert TimeBudget(seconds=1.0, start_step=0, spent_before=2.0).estimated_total(5) == 5  # over budget


def test_default_learning_rate_and_warmup_fraction() -> None:
    assert default_learning_rate(384) == 2e-4 and default_learning_rate(None) == 2e-4
    assert default_learning_rate(768) == pytest.approx(1e-4) and default_learning_rate(256) == 2e-4
    assert warmup_for(2000, None, 0.1) == 200 and warmup_for(2000, 50, 0.1) == 50
    assert warmup_for(3, None, 0.1) == 1 and warmup_for(100, None, 0.0) == 0


def test_step_limit_follows_the_flags() -> None:
    base = dict(encoder="e", decoder="d", train="t", output_dir="o")
    assert TrainConfig(**base).step_limit == 1000 and not TrainConfig(**base).is_time_budgeted
    assert TrainConfig(**base, max_minutes=5).step_limit is None and TrainConfig(**base, max_minutes=5).is_time_budgeted
    assert TrainConfig(**base, max_minutes=5, max_steps=7).step_limit == 7
    with pytest.raises(ValueError, match=r"TrainConfig.warmup_fraction \(--warmup-fraction\) must be in \[0, 1\)"):
        TrainConfig(**base, warmup_fraction=1.0)
    with pytest.raises(ValueError, match=r"TrainConfig.max_minutes \(--max-minutes\) must be > 0, got 0"):
        TrainConfig(**base, max_minutes=0)


def test_a_budgeted_run_ends_with_the_learning_rate_at_its_schedules_end(stand_in_config) -> None:
    peak = 1e-2
    config = stand_in_config(max_steps=None, max_minutes=0.15, lr=peak, warmup_steps=None, save_every=0,
                             validation=None)
    result = train(config)
    assert result.stopped_by == "max_minutes" and result.step > 8
    state = json.loads((result.last_checkpoint / TRAINER_STATE).read_text())
    schedule = {name: state["schedule"][name] for name in ("peak_lr", "warmup_steps", "total_steps", "kind")}
    assert schedule["total_steps"] == result.step == state["step"]  # fitted to the steps that fitted
    assert schedule["warmup_steps"] == max(1, round(0.1 * result.step))  # warmup is a fraction of the run
    assert LearningRateSchedule(**schedule).lr_at(result.step) == 0.0
    records = [json.loads(line) for line in (Path(config.output_dir) / "metrics.jsonl").read_text().splitlines()]
    rates = [record["lr"] for record in records if record["kind"] == "train"]
    assert len(rates) == result.step  # log_every=1
    assert max(rates) > 0.5 * peak  # it warmed up to near its peak ...
    # ... and the last step ran within a few steps of the schedule's end (the estimate moves with the machine's
    # load), not partway down: a fixed 1000-step schedule would still be near its peak here
    assert rates[-1] <= 4 * peak / (schedule["total_steps"] - schedule["warmup_steps"])
    assert records[-1] == {"kind": "stop", "step": result.step, "reason": "max_minutes"}
