"""Assemble a run: device, folder, tokenizers, data, model, optimizer, and resumed state."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from warmseq.devices import default_device

from .batching import LengthBatcher
from .config import DEFAULT_MAX_STEPS, TrainConfig
from .distributed import RankInfo, broadcast_flag, gather_tensors
from .extras import check_training_extras
from .model_loading import (
    SpecialIds,
    apply_special_ids,
    build_model,
    capped_lengths,
    load_checkpoint_tokenizers,
    load_tokenizers,
    resolve_special_ids,
)
from .records import read_text_pairs
from .run_folder import prepare_run_folder
from .run_lock import RunFolderLock
from .schedule import LearningRateSchedule, build_optimizer, default_learning_rate, warmup_for
from .state import TrainerState, read_trainer_state, remove_unfinished_saves, resumable_checkpoint
from .state_files import load_optimizer_state, load_rng_state, restore_rng_state, rng_state
from .tokenized import tokenize_pairs
from .validation import ValidationSet

logger = logging.getLogger(__name__)

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainingRun:
    """Everything the step loop works on. `model` is the bare model; `trained` may be its DDP wrapper."""

    config: TrainConfig
    rank_info: RankInfo
    device: torch.device
    model: Any
    trained: torch.nn.Module
    optimizer: torch.optim.AdamW
    schedule: LearningRateSchedule
    batcher: LengthBatcher
    validation: ValidationSet | None
    tokenizers: tuple[Any, Any]
    special_ids: SpecialIds
    state: TrainerState
    autocast: Callable[[], AbstractContextManager[object]]
    scaler: torch.amp.GradScaler | None
    resumed_from: Path | None
    folder_lock: RunFolderLock
    can_plot: bool  # matplotlib is installed

    def rng_states(self) -> list[torch.Tensor]:
        return gather_tensors(rng_state(self.device), self.rank_info)


def resolve_device(config: TrainConfig, rank_info: RankInfo) -> torch.device:
    return default_device(config.device, rank_info.local_rank)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX); elsewhere bf16 is emulated, slower
    than fp32."""
    flags = torch.cpu.get_capabilities()
    return bool(flags.get("avx512_bf16") or flags.get("amx_bf16"))


def autocast_for(config: TrainConfig, device: torch.device) -> Callable[[], AbstractContextManager[object]]:
    """The context each forward runs in: none for fp32; autocast to bf16 or fp16 on CUDA, and to bf16 on a
    CPU that has bf16 products (mixed precision: the weights, optimizer and loss stay fp32)."""
    if config.precision == "fp32":
        return contextlib.nullcontext
    dtype = AUTOCAST_DTYPES[config.precision]
    if device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=dtype)
    if device.type == "cpu" and config.precision == "bf16":
        if not cpu_has_native_bf16():
            raise ValueError(
                "TrainConfig.precision (--precision) 'bf16' on CPU needs bf16 products in hardware "
                "(AVX512-BF16 or AMX), which this CPU lacks: bf16 would be emulated, slower than fp32. "
                "Use --precision fp32"
            )
        return lambda: torch.autocast("cpu", dtype=dtype)
    raise ValueError(
        f"TrainConfig.precision (--precision) {config.precision!r} needs a CUDA device"
        f"{' (or bf16 on a CPU with bf16 products)' if device.type == 'cpu' else ''}; "
        f"this run is on {device}. Use --precision fp32"
    )


def prepare_folder_on_main(config: TrainConfig, rank_info: RankInfo, device: torch.device) -> RunFolderLock:
    """Rank 0 locks, checks and claims the output folder; the other ranks stop too if it refuses.
    Returns the lock (held by rank 0 only) for the caller to release when the run ends."""
    failure: Exception | None = None
    lock = RunFolderLock(config.output_path, active=rank_info.is_main)
    if rank_info.is_main:
        try:
            if config.output_path.exists() and not config.output_path.is_dir():
                raise NotADirectoryError(f"--output-dir {config.output_path} is a file; expected a folder")
            lock.acquire()
            prepare_run_folder(config)
            remove_unfinished_saves(config.output_path)
        except Exception as error:  # re-raised below, after telling the other ranks
            lock.release()
            failure = error
    if broadcast_flag(failure is not None, rank_info, device):
        raise failure if failure is not None else RuntimeError("rank 0 refused the output folder")
    return lock


def load_validation(
    config: TrainConfig, tokenizers: tuple[Any, Any], lengths: tuple[int, int], eos_id: int
) -> ValidationSet | None:
    if not config.validation:
        return None
    texts = read_text_pairs(config.validation, config.source_field, config.target_field)
    if config.eval_max_examples is not None and len(texts) > config.eval_max_examples:
        limit = config.eval_max_examples
        texts = type(texts)(texts.path, texts.sources[:limit], texts.targets[:limit])
    tokens = tokenize_pairs(texts, tokenizers[0], tokenizers[1], lengths[0], lengths[1], eos_id)
    return ValidationSet(texts, tokens)


def wrap_for_ranks(model: torch.nn.Module, rank_info: RankInfo, device: torch.device) -> torch.nn.Module:
    if not rank_info.is_distributed:
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def restore_progress(
    run_checkpoint: Path, optimizer: torch.optim.Optimizer, rank_info: RankInfo, device: torch.device
) -> TrainerState:
    load_optimizer_state(optimizer, run_checkpoint)
    saved_rng = load_rng_state(run_checkpoint, rank_info.rank)
    if saved_rng is not None:
        restore_rng_state(saved_rng, device)
    state = read_trainer_state(run_checkpoint)
    if state.world_size != rank_info.world_size:
        logger.warning(
            "resuming a run saved with %d ranks on %d ranks: data order changes",
            state.world_size,
            rank_info.world_size,
        )
    return state


def decoder_width(model: Any) -> int | None:
    width = getattr(getattr(model.config, "decoder", None), "hidden_size", None)
    return width if isinstance(width, int) else None


def initial_schedule(config: TrainConfig, model: Any) -> LearningRateSchedule:
    """The schedule over `config.step_limit` steps; a time-budgeted run starts from DEFAULT_MAX_STEPS and the
    loop refits it to the steps the budget holds once the first step is timed."""
    lr = config.lr if config.lr is not None else default_learning_rate(decoder_width(model))
    if config.lr is None:
        logger.info("learning rate %.3g (the default for a decoder of width %s)", lr, decoder_width(model))
    total = config.step_limit or DEFAULT_MAX_STEPS
    return LearningRateSchedule(lr, warmup_for(total, config.warmup_steps, config.warmup_fraction), total,
                                config.schedule)


def set_up_run(config: TrainConfig, rank_info: RankInfo, device: torch.device) -> TrainingRun:
    """Check the run's needs, lock and claim the output folder, then assemble the run (the lock is
    released again if anything fails; otherwise it is the caller's to release via `run.folder_lock`)."""
    autocast = autocast_for(config, device)
    can_plot = check_training_extras(config)
    folder_lock = prepare_folder_on_main(config, rank_info, device)
    try:
        return assemble_run(config, rank_info, device, autocast, folder_lock, can_plot)
    except BaseException:
        folder_lock.release()
        raise


def assemble_run(
    config: TrainConfig,
    rank_info: RankInfo,
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[object]],
    folder_lock: RunFolderLock,
    can_plot: bool,
) -> TrainingRun:
    checkpoint = resumable_checkpoint(config.output_path) if config.resume else None
    if config.resume and checkpoint is None:
        logger.info("--resume: no complete checkpoint in %s; starting from the beginning", config.output_dir)
    tokenizers = (
        load_checkpoint_tokenizers(checkpoint) if checkpoint else load_tokenizers(config.encoder, config.decoder)
    )
    torch.manual_seed(config.seed)  # new weights (cross-attention) start equal on every rank
    model = build_model(config, checkpoint)
    special_ids = resolve_special_ids(
        *tokenizers, config.decoder_start_token_id, config.eos_token_id, config.pad_token_id
    )
    apply_special_ids(model, special_ids)
    lengths = capped_lengths(config, model)
    train_texts = read_text_pairs(config.train, config.source_field, config.target_field)
    train_tokens = tokenize_pairs(train_texts, tokenizers[0], tokenizers[1], *lengths, special_ids.eos)
    batcher = LengthBatcher(
        train_tokens,
        config.batch_size,
        config.seed,
        rank_info.world_size,
        config.max_tokens,
        config.length_pool_batches,
    )
    model.to(device)
    model.train()
    schedule = initial_schedule(config, model)
    optimizer = build_optimizer(model, schedule.peak_lr, config.weight_decay)
    torch.manual_seed(config.seed + rank_info.rank)  # dropout differs between ranks
    state = TrainerState(schedule=schedule.to_json_dict(), world_size=rank_info.world_size)
    if checkpoint is not None:
        state = restore_progress(checkpoint, optimizer, rank_info, device)
        logger.info("resumed from %s at step %d", checkpoint, state.step)
    state.config = config.to_json_dict()
    scaler = torch.amp.GradScaler("cuda") if config.precision == "fp16" else None
    return TrainingRun(
        config=config,
        rank_info=rank_info,
        device=device,
        model=model,
        trained=wrap_for_ranks(model, rank_info, device),
        optimizer=optimizer,
        schedule=schedule,
        batcher=batcher,
        validation=load_validation(config, tokenizers, lengths, special_ids.eos),
        tokenizers=tokenizers,
        special_ids=special_ids,
        state=state,
        autocast=autocast,
        scaler=scaler,
        resumed_from=checkpoint,
        folder_lock=folder_lock,
        can_plot=can_plot,
    )
