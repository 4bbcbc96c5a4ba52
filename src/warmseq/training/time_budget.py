"""A run sized by wall-clock time: how many steps fit in `--max-minutes`, re-estimated after every step.

Given a budget and no step count, the learning-rate schedule is stretched or shrunk after each step to
end at the estimated last step, so a 30-minute run decays fully within its 30 minutes instead of being
the first part of a longer schedule.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .schedule import LearningRateSchedule, warmup_for

SPENT_KEY = "spent_seconds"  # in TrainerState.schedule: budget time used before a resumption


class TimeBudget:
    """Seconds of training allowed and spent; `estimated_total` is where the run will end.

    The time per step is measured from the end of this process's first step (that step also pays for
    allocation and kernel selection), so saves, logging and the machine's load all count."""

    def __init__(self, seconds: float, start_step: int, spent_before: float = 0.0) -> None:
        self.seconds = seconds
        self.start_step = start_step
        self.spent_before = spent_before
        self.started = time.monotonic()
        self.timed_from: tuple[float, int] | None = None  # (clock, step) at the end of the first step here

    def spent(self) -> float:
        return self.spent_before + time.monotonic() - self.started

    def step_finished(self, step: int) -> None:
        if self.timed_from is None:
            self.timed_from = (time.monotonic(), step)

    def seconds_per_step(self, step: int) -> float | None:
        """Mean wall time per step since this process's first step; None until a second step finished."""
        if self.timed_from is None or step <= self.timed_from[1]:
            return None
        clock, first = self.timed_from
        return (time.monotonic() - clock) / (step - first)

    def estimated_total(self, step: int) -> int | None:
        """The step count at which the budget runs out (>= `step`); None while the time per step is unknown."""
        remaining = self.seconds - self.spent()
        if remaining <= 0:
            return step
        per_step = self.seconds_per_step(step)
        if per_step is None:
            return None
        return step + math.floor(remaining / max(per_step, 1e-9))


def refit_schedule(
    schedule: LearningRateSchedule, total_steps: int, warmup_steps: int | None, warmup_fraction: float
) -> LearningRateSchedule:
    """`schedule` ending at `total_steps`, its warmup the given count or fraction of the new length."""
    total_steps = max(total_steps, 1)
    return schedule.with_total(total_steps, warmup_for(total_steps, warmup_steps, warmup_fraction))


def saved_schedule(values: dict[str, Any], fallback: LearningRateSchedule) -> LearningRateSchedule:
    """The schedule a resumed budgeted run had reached (TrainerState.schedule), else `fallback`."""
    try:
        return LearningRateSchedule(
            float(values["peak_lr"]), int(values["warmup_steps"]), int(values["total_steps"]), str(values["kind"])
        )
    except (KeyError, TypeError, ValueError):
        return fallback
