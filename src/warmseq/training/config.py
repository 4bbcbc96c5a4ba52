"""TrainConfig: every setting of one training run, as the CLI's flags fill it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEDULES = ("linear", "cosine", "constant")
PRECISIONS = ("fp32", "bf16", "fp16")
CROSS_ATTENTION_INITS = ("self", "random")
DEFAULT_MAX_STEPS = 1000  # the run's length when neither --max-steps nor --max-minutes is given

# Fields that may change between a run and its resumption without making it a different run.
RESUMABLE_FIELDS = frozenset(
    {
        "max_steps",
        "eval_every",
        "save_every",
        "log_every",
        "keep",
        "resume",
        "overwrite",
        "show_progress",
        "eval_max_examples",
        "eval_num_beams",
        "eval_max_new_tokens",
        "num_sample_predictions",
        "device",
        "validation",
    }
)


@dataclass
class TrainConfig:
    """Settings of one fine-tuning run of a warm-started encoder-decoder model.

    `batch_size` counts examples per micro-batch on each rank; when `max_tokens` is set it replaces
    `batch_size` as a padded-token budget per micro-batch (source + target tokens). One optimizer step
    sees `grad_accum` micro-batches on every rank.
    """

    encoder: str
    decoder: str
    train: str
    output_dir: str
    validation: str | None = None
    source_field: str = "text"
    target_field: str = "summary"
    max_steps: int | None = None  # None: --max-minutes decides the length, else DEFAULT_MAX_STEPS
    max_minutes: float | None = None  # wall-clock budget for the steps; alone, it also sets the schedule's length
    batch_size: int = 16
    max_tokens: int | None = None
    lr: float | None = None  # None: default_learning_rate(decoder width), 2e-4 for MiniLM (docs/results.md)
    weight_decay: float = 0.01
    warmup_steps: int | None = None  # None: warmup_fraction of the run
    warmup_fraction: float = 0.1
    schedule: str = "linear"
    grad_accum: int = 1
    max_grad_norm: float | None = 1.0
    label_smoothing: float = 0.0
    max_source_length: int = 64  # measured: short sources buy more steps per minute (docs/results.md)
    max_target_length: int = 32
    eval_every: int = 0
    save_every: int = 500
    log_every: int = 10
    keep: int = 2
    seed: int = 0
    resume: bool = False
    overwrite: bool = False
    tie_encoder_decoder: bool = False
    random_init: bool = False  # same architecture, no pretrained weights (the warm-start baseline)
    cross_attention_init: str = "self"  # new cross-attention: a copy of the layer's self-attention, or random
    gradient_checkpointing: bool = False
    precision: str = "fp32"
    device: str | None = None
    decoder_start_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None
    eval_max_examples: int | None = 200
    eval_num_beams: int = 1
    eval_max_new_tokens: int = 32  # also generation_config.json's max_new_tokens; targets are cut at 32 too
    num_sample_predictions: int = 3
    length_pool_batches: int = 50
    show_progress: bool = True

    def __post_init__(self) -> None:
        check_config(self)

    def to_json_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = dict(values)
        if "cross_attention_from_self" in values:  # the flag's name before --cross-attention-init
            values["cross_attention_init"] = "self" if values.pop("cross_attention_from_self") else "random"
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainConfig: unknown fields {unknown}; known fields are {sorted(known)}")
        return cls(**values)

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir)

    @property
    def is_time_budgeted(self) -> bool:
        """The time budget alone decides the run's length (and so its learning-rate schedule)."""
        return self.max_steps is None and self.max_minutes is not None

    @property
    def step_limit(self) -> int | None:
        """The number of steps to stop at; None when the time budget decides."""
        if self.max_steps is not None:
            return self.max_steps
        return None if self.max_minutes is not None else DEFAULT_MAX_STEPS


def check_config(config: TrainConfig) -> None:
    """Raise ValueError naming the first setting that cannot work."""
    positive = {
        "batch_size": config.batch_size,
        "grad_accum": config.grad_accum,
        "max_source_length": config.max_source_length,
        "max_target_length": config.max_target_length,
        "keep": config.keep,
        "log_every": config.log_every,
        "eval_num_beams": config.eval_num_beams,
        "eval_max_new_tokens": config.eval_max_new_tokens,
        "length_pool_batches": config.length_pool_batches,
    }
    for name, value in positive.items():
        if value < 1:
            raise ValueError(f"TrainConfig.{name} (--{flag(name)}) must be >= 1, got {value}")
    non_negative = {
        "eval_every": config.eval_every,
        "save_every": config.save_every,
        "weight_decay": config.weight_decay,
        "num_sample_predictions": config.num_sample_predictions,
    }
    for name, value in non_negative.items():
        if value < 0:
            raise ValueError(f"TrainConfig.{name} (--{flag(name)}) must be >= 0, got {value}")
    if config.max_target_length < 2:
        raise ValueError(
            "TrainConfig.max_target_length (--max-target-length) must be >= 2 "
            f"(at least one token plus the end token), got {config.max_target_length}"
        )
    for name in ("max_steps", "max_tokens"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ValueError(f"TrainConfig.{name} (--{flag(name)}) must be >= 1, got {value}")
    if config.warmup_steps is not None and config.warmup_steps < 0:
        raise ValueError(f"TrainConfig.warmup_steps (--warmup-steps) must be >= 0, got {config.warmup_steps}")
    if not 0.0 <= config.warmup_fraction < 1.0:
        raise ValueError(
            f"TrainConfig.warmup_fraction (--warmup-fraction) must be in [0, 1), got {config.warmup_fraction}"
        )
    if config.max_minutes is not None and not config.max_minutes > 0:
        raise ValueError(f"TrainConfig.max_minutes (--max-minutes) must be > 0, got {config.max_minutes}")
    if config.cross_attention_init not in CROSS_ATTENTION_INITS:
        raise ValueError(
            f"TrainConfig.cross_attention_init (--cross-attention-init) must be one of {CROSS_ATTENTION_INITS}, "
            f"got {config.cross_attention_init!r}"
        )
    if config.lr is not None and not config.lr > 0:
        raise ValueError(f"TrainConfig.lr (--lr) must be > 0, got {config.lr}")
    if not 0.0 <= config.label_smoothing < 1.0:
        raise ValueError(
            f"TrainConfig.label_smoothing (--label-smoothing) must be in [0, 1), got {config.label_smoothing}"
        )
    if config.max_grad_norm is not None and not config.max_grad_norm > 0:
        raise ValueError(f"TrainConfig.max_grad_norm (--max-grad-norm) must be > 0 or None, got {config.max_grad_norm}")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"TrainConfig.schedule (--schedule) must be one of {SCHEDULES}, got {config.schedule!r}")
    if config.precision not in PRECISIONS:
        raise ValueError(f"TrainConfig.precision (--precision) must be one of {PRECISIONS}, got {config.precision!r}")
    if config.eval_max_examples is not None and config.eval_max_examples < 1:
        raise ValueError(
            f"TrainConfig.eval_max_examples (--eval-max-examples) must be >= 1 or None, got {config.eval_max_examples}"
        )
    if config.resume and config.overwrite:
        raise ValueError("TrainConfig: --resume and --overwrite contradict each other; pass one of them")
    if config.eval_every and not config.validation:
        raise ValueError(
            f"TrainConfig.eval_every (--eval-every) is {config.eval_every} but no --validation file is given"
        )


def flag(field_name: str) -> str:
    return field_name.replace("_", "-")
