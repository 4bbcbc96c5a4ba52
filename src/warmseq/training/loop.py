"""The training loop: token-normalised steps, logging, validation, checkpoints, SIGTERM, DDP."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from warmseq.devices import default_device

from .accumulation import accumulate_gradients
from .batching import TokenBatch
from .config import TrainConfig
from .distributed import barrier, start_distributed, stop_distributed, sum_across_ranks
from .metrics_log import MetricsLog
from .model_loading import generation_settings
from .plot import plot_metrics
from .run_folder import METRICS_FILE
from .schedule import clip_gradients, set_learning_rate
from .setup import TrainingRun, resolve_device, set_up_run
from .state import CheckpointContents, checkpoint_name, latest_checkpoint, rotate_checkpoints, save_checkpoint
from .stop_signal import StopRequest
from .time_budget import SPENT_KEY, TimeBudget, refit_schedule, saved_schedule
from .validation import validate

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the last checkpoint written before it is kept."""


@dataclass
class TrainResult:
    """What a call to `train` did. `losses` holds the mean target-token loss of each step it ran;
    `model` is the trained model (unwrapped from DDP)."""

    output_dir: Path
    step: int
    stopped_by: str
    losses: list[float] = field(default_factory=list)
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None
    best_rouge_l: float | None = None
    validation: dict[str, Any] = field(default_factory=dict)
    model: Any = None


@dataclass(frozen=True)
class StepOutcome:
    loss: float
    target_tokens: int
    tokens: int
    grad_norm: float
    lr: float
    stop_requested: bool


def next_micro_batches(run: TrainingRun) -> list[TokenBatch]:
    batches = []
    for _ in range(run.config.grad_accum):
        batch, run.state.data_position = run.batcher.batch_at(
            run.state.data_position, run.rank_info.rank, run.special_ids.source_pad
        )
        batches.append(batch.to(run.device))
    return batches


def train_step(run: TrainingRun, stop: StopRequest) -> StepOutcome:
    """One optimizer step over `grad_accum` micro-batches per rank."""
    batches = next_micro_batches(run)
    local_targets = sum(batch.target_token_count for batch in batches)
    local_tokens = sum(batch.token_count for batch in batches)
    targets, tokens, stops = sum_across_ranks(
        [float(local_targets), float(local_tokens), float(stop.requested)], run.rank_info, run.device
    )
    lr = run.schedule.lr_at(run.state.step)
    set_learning_rate(run.optimizer, lr)
    scale = run.scaler.scale if run.scaler is not None else (lambda loss: loss)
    loss_sum = accumulate_gradients(
        run.trained,
        batches,
        int(targets),
        run.config.label_smoothing,
        run.rank_info.world_size,
        run.autocast,
        scale,
    )
    (total_loss,) = sum_across_ranks([float(loss_sum)], run.rank_info, run.device)
    loss = total_loss / targets
    if not math.isfinite(loss):
        run.optimizer.zero_grad(set_to_none=True)
        return StepOutcome(loss, int(targets), int(tokens), float("nan"), lr, stops > 0)
    if run.scaler is not None:
        run.scaler.unscale_(run.optimizer)
    grad_norm = clip_gradients(run.model, run.config.max_grad_norm)
    if run.scaler is not None:
        run.scaler.step(run.optimizer)
        run.scaler.update()
    else:
        run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.state.step += 1
    return StepOutcome(loss, int(targets), int(tokens), grad_norm, lr, stops > 0)


def run_validation(run: TrainingRun, log: MetricsLog) -> dict[str, Any]:
    assert run.validation is not None
    config = run.config
    scores = validate(
        run.model,
        run.validation,
        run.tokenizers[1],
        config.batch_size,
        run.special_ids.source_pad,
        run.rank_info,
        run.device,
        config.eval_num_beams,
        config.eval_max_new_tokens,
        config.num_sample_predictions,
        run.autocast,
    )
    log.append({"kind": "validation", "step": run.state.step, **scores})
    logger.info(
        "step %d validation: loss %.4f, ROUGE-1 %.2f, ROUGE-2 %.2f, ROUGE-L %.2f",
        run.state.step,
        scores["loss"],
        scores["rouge1"],
        scores["rouge2"],
        scores["rougeL"],
    )
    for sample in scores["samples"]:
        logger.info("  reference: %s | prediction: %s", sample["reference"], sample["prediction"])
    run.state.validation = {name: value for name, value in scores.items() if name != "samples"}
    best = run.state.best_rouge_l
    if best is None or scores["rougeL"] > best:
        run.state.best_rouge_l = scores["rougeL"]
        run.state.best_step = run.state.step
    return scores


def save(run: TrainingRun) -> Path:
    """Write a checkpoint at the current step (rank 0), keep the newest `keep` plus the best."""
    rng_states = run.rng_states()  # every rank takes part in gathering
    folder = run.config.output_path / checkpoint_name(run.state.step)
    if run.rank_info.is_main:
        contents = CheckpointContents(run.model, run.tokenizers, run.optimizer, rng_states, run.state,
                                      generation_settings(run.special_ids, run.config))
        save_checkpoint(run.config.output_path, contents)
        rotate_checkpoints(run.config.output_path, run.config.keep, run.state.best_step)
        logger.info("saved %s", folder)
    barrier(run.rank_info)
    return folder


def is_due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0


def log_progress(run: TrainingRun, log: MetricsLog, window: dict[str, float], bar: Any) -> None:
    loss = window["loss_sum"] / max(window["targets"], 1.0)
    tokens_per_s = window["tokens"] / max(window["seconds"], 1e-9)
    record = {
        "kind": "train",
        "step": run.state.step,
        "epoch": run.state.data_position.epoch,
        "loss": loss,
        "lr": window["lr"],
        "grad_norm": window["grad_norm"],
        "tokens_per_s": tokens_per_s,
    }
    log.append(record)
    bar.set_postfix(loss=f"{loss:.4f}", lr=f"{window['lr']:.2e}", tok_s=f"{tokens_per_s:.0f}")


def empty_window() -> dict[str, float]:
    return {"loss_sum": 0.0, "targets": 0.0, "tokens": 0.0, "seconds": 0.0, "lr": 0.0, "grad_norm": 0.0}


def start_budget(run: TrainingRun) -> TimeBudget | None:
    """The time budget of a run sized by --max-minutes alone (None otherwise); a resumed run keeps the
    schedule it had reached and the time it had spent."""
    config, state = run.config, run.state
    if not config.is_time_budgeted:
        return None
    assert config.max_minutes is not None
    if run.resumed_from is not None:
        run.schedule = saved_schedule(state.schedule, run.schedule)
    return TimeBudget(60 * config.max_minutes, state.step, float(state.schedule.get(SPENT_KEY, 0.0)))


def refit_to_budget(run: TrainingRun, budget: TimeBudget) -> bool:
    """Stretch the schedule to the steps that still fit; True when none does (the step just run was the last).

    Every rank adopts the ranks' mean estimate, so all step with the same learning rate and stop together."""
    config, state = run.config, run.state
    budget.step_finished(state.step)
    estimate = budget.estimated_total(state.step)
    # (-1 while a rank cannot estimate yet: after the first step here, the same step on every rank)
    (summed,) = sum_across_ranks([float(estimate if estimate is not None else -1)], run.rank_info, run.device)
    if summed < 0:
        return False  # keep the provisional schedule for one more step
    total = max(state.step, int(summed / run.rank_info.world_size))
    run.schedule = refit_schedule(run.schedule, total, config.warmup_steps, config.warmup_fraction)
    state.schedule = {**run.schedule.to_json_dict(), SPENT_KEY: budget.spent()}
    return total <= state.step


def run_steps(run: TrainingRun, log: MetricsLog, stop: StopRequest) -> TrainResult:
    config, state = run.config, run.state
    budget = start_budget(run)
    result = TrainResult(config.output_path, state.step, "max_minutes" if budget else "max_steps")
    show = config.show_progress and run.rank_info.is_main
    bar = tqdm(total=run.schedule.total_steps, initial=state.step, disable=not show, desc="training", unit="step")
    window = empty_window()
    limited = config.max_minutes is not None and budget is None  # steps and a deadline: whichever comes first
    deadline = time.monotonic() + 60 * config.max_minutes if limited else None
    with bar:
        while budget is not None or state.step < config.step_limit:
            if deadline is not None and time.monotonic() >= deadline:
                stop.request("max_minutes")  # every rank sees it through the step's stop vote
            started = time.perf_counter()
            outcome = train_step(run, stop)
            if not math.isfinite(outcome.loss):
                last = latest_checkpoint(config.output_path)
                log.append({"kind": "stop", "step": state.step + 1, "reason": "non-finite loss"})
                raise NonFiniteLossError(
                    f"training stopped at step {state.step + 1}: the loss is {outcome.loss}; "
                    f"the last good checkpoint is {last or 'none (no checkpoint was written yet)'}"
                )
            result.losses.append(outcome.loss)
            window["loss_sum"] += outcome.loss * outcome.target_tokens
            window["targets"] += outcome.target_tokens
            window["tokens"] += outcome.tokens
            window["seconds"] += time.perf_counter() - started
            window.update(lr=outcome.lr, grad_norm=outcome.grad_norm)
            if budget is not None:
                finished = refit_to_budget(run, budget)
                bar.total = run.schedule.total_steps
            else:
                finished = state.step >= config.step_limit
            bar.update(1)
            if is_due(state.step, config.log_every) or finished or outcome.stop_requested:
                log_progress(run, log, window, bar)
                window = empty_window()
            best_before = state.best_step
            if run.validation is not None and (is_due(state.step, config.eval_every) or finished):
                result.validation = run_validation(run, log)
            improved = state.best_step != best_before and state.best_step == state.step
            if is_due(state.step, config.save_every) or finished or outcome.stop_requested or improved:
                result.last_checkpoint = save(run)
            if outcome.stop_requested:
                result.stopped_by = stop.reason
                log.append({"kind": "stop", "step": state.step, "reason": stop.reason})
                break
            if finished and budget is not None:
                log.append({"kind": "stop", "step": state.step, "reason": "max_minutes"})
                break
    result.step = state.step
    result.model = run.model
    result.best_rouge_l = state.best_rouge_l
    if state.best_step is not None:
        result.best_checkpoint = config.output_path / checkpoint_name(state.best_step)
    return result


def train(config: TrainConfig) -> TrainResult:
    """Fine-tune `config.encoder` + `config.decoder` on `config.train`; checkpoints go to `config.output_dir`.

    Runs as one rank of a DDP job when torchrun's environment variables are set (gloo on CPU, nccl
    on CUDA); rank 0 writes all files. Raises NonFiniteLossError if the loss stops being finite.
    """
    started_distributed = not torch.distributed.is_initialized()
    device_type = default_device(config.device).type
    rank_info = start_distributed(device_type)
    try:
        run = set_up_run(config, rank_info, resolve_device(config, rank_info))
        with run.folder_lock:
            log = MetricsLog(config.output_path / METRICS_FILE, rank_info.is_main)
            log.drop_after(run.state.step)
            with StopRequest() as stop:
                result = run_steps(run, log, stop)
            if rank_info.is_main and run.can_plot and (config.output_path / METRICS_FILE).is_file():
                plot_metrics(config.output_path / METRICS_FILE)
            return result
    finally:
        stop_distributed(started_distributed)
