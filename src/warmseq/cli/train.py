"""Fine-tune a warm-started encoder-decoder: every flag is a TrainConfig field (--max-steps -> max_steps).

Under torchrun (`torchrun --nproc-per-node N -m warmseq train ...`) each process is one DDP rank.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from typing import Any

from warmseq.cli.devices import check_device
from warmseq.training.config import CROSS_ATTENTION_INITS, PRECISIONS, SCHEDULES, TrainConfig

HELP = {
    "encoder": "pretrained encoder folder or Hub id (its tokenizer reads the sources)",
    "decoder": "pretrained decoder folder or Hub id (its tokenizer writes the targets)",
    "train": "training data: .jsonl, .csv, .tsv or .parquet",
    "validation": "validation data, scored every --eval-every steps and at the end",
    "output_dir": "run folder: checkpoint-<step>/ folders, metrics.jsonl, plots",
    "batch_size": "examples per micro-batch on each rank",
    "max_tokens": "padded-token budget per micro-batch; replaces --batch-size",
    "max_grad_norm": "gradient clipping norm ('none' turns clipping off)",
    "show_progress": "progress bar on stderr",
    "random_init": "same architecture with every weight drawn fresh (the warm-start baseline)",
    "cross_attention_init": "each decoder layer's new cross-attention starts as a copy of its self-attention "
    "('self'; any encoder width: a wider or narrower encoder is projected to the decoder's), or random ('random')",
    "max_steps": "optimizer steps (default: as many as --max-minutes holds, else 1000)",
    "max_minutes": "wall-clock budget for training; without --max-steps the learning-rate schedule is fitted to it",
    "lr": "peak learning rate (default: 2e-4 for a 384-wide decoder such as MiniLM, scaled by 384/width above)",
    "warmup_steps": "linear warmup steps (default: --warmup-fraction of the run)",
    "warmup_fraction": "linear warmup as a fraction of the run's steps",
    "precision": "fp32, or mixed precision: bf16 (CUDA, or a CPU with bf16 products: AVX512-BF16 or AMX) or "
    "fp16 (CUDA)",
}
CHOICES = {"schedule": SCHEDULES, "precision": PRECISIONS, "cross_attention_init": CROSS_ATTENTION_INITS}
NO_DEFAULT_NOTE = {"max_steps", "lr", "warmup_steps"}  # their help says what None means


def add_arguments(parser: argparse.ArgumentParser) -> None:
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        add_field_flag(parser, field, hints[field.name])
    parser.add_argument(
        "--cross-attention-from-self",
        dest="cross_attention_init",
        action="store_const",
        const="self",
        default=argparse.SUPPRESS,
        help="same as --cross-attention-init self (the default)",
    )


def add_field_flag(parser: argparse.ArgumentParser, field: dataclasses.Field, hint: Any) -> None:
    flag = "--" + field.name.replace("_", "-")
    required = field.default is dataclasses.MISSING
    help_text = HELP.get(field.name, field.name.replace("_", " "))
    if hint is bool and field.default is True:
        parser.add_argument("--no-" + flag[2:], dest=field.name, action="store_false", help=f"no {help_text}")
        return
    if hint is bool:
        parser.add_argument(flag, dest=field.name, action="store_true", help=help_text)
        return
    kind, optional = value_type(hint)
    default_note = "" if required or field.name in NO_DEFAULT_NOTE else f" (default: {field.default})"
    parser.add_argument(
        flag,
        dest=field.name,
        type=none_or(kind) if optional else kind,
        required=required,
        default=None if required else field.default,
        choices=CHOICES.get(field.name),
        help=help_text + default_note,
    )


def value_type(hint: Any) -> tuple[type, bool]:
    """(int, True) for `int | None`; (float, False) for `float`."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kinds = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return kinds[0], True
    return hint, False


def none_or(kind: type) -> Any:
    def parse(text: str) -> Any:
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its "invalid value" message
    return parse


def run(args: argparse.Namespace) -> int:
    from warmseq.training import train

    check_device(args.device)
    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)}
    result = train(TrainConfig(**values))
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports for the job
        return 0
    print(f"trained to step {result.step} ({result.stopped_by}); last checkpoint: {result.last_checkpoint}")
    if result.best_checkpoint is not None:
        print(f"best checkpoint: {result.best_checkpoint} (ROUGE-L {result.best_rouge_l:.2f})")
    return 0
