"""Trainer checkpoints: atomic folders loadable by from_pretrained, plus the state to resume training.

A checkpoint is written into `.tmp-checkpoint-<step>` and renamed to `checkpoint-<step>` only when
complete, so a process killed mid-save leaves the previous checkpoint as the newest one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from warmseq.atomic import sync_folder_entry, write_json_atomic
from warmseq.checkpoints.safetensors_header import read_header
from warmseq.checkpoints.shard_index import local_shard_path, read_weight_map
from warmseq.json_files import GENERATION_CONFIG_NAME, read_json_if_present, read_json_object

from .batching import DataPosition
from .state_files import OPTIMIZER_JSON, OPTIMIZER_TENSORS, RNG_TENSORS, save_optimizer_state, save_rng_states

logger = logging.getLogger(__name__)

TRAINER_STATE = "trainer_state.json"
DECODER_TOKENIZER_DIR = "decoder_tokenizer"
CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
TEMP_PREFIX = ".tmp-checkpoint-"


@dataclass
class TrainerState:
    """Progress of a run: what `--resume` needs besides weights, optimizer and generator states."""

    step: int = 0
    data_position: DataPosition = field(default_factory=DataPosition)
    best_step: int | None = None
    best_rouge_l: float | None = None
    validation: dict[str, float] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1
    config: dict[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "data_position": self.data_position.to_json_dict(),
            "best_step": self.best_step,
            "best_rouge_l": self.best_rouge_l,
            "validation": self.validation,
            "schedule": self.schedule,
            "world_size": self.world_size,
            "config": self.config,
        }

    @classmethod
    def from_json_dict(cls, values: dict[str, Any]) -> TrainerState:
        return cls(
            step=int(values["step"]),
            data_position=DataPosition.from_json_dict(values["data_position"]),
            best_step=values.get("best_step"),
            best_rouge_l=values.get("best_rouge_l"),
            validation=dict(values.get("validation", {})),
            schedule=dict(values.get("schedule", {})),
            world_size=int(values.get("world_size", 1)),
            config=dict(values.get("config", {})),
        )


def read_trainer_state(folder: Path) -> TrainerState:
    path = folder / TRAINER_STATE
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {folder}: {TRAINER_STATE} is missing; it is not a complete checkpoint")
    return TrainerState.from_json_dict(read_json_object(path, f"the {TRAINER_STATE} of a trainer checkpoint"))


def checkpoint_name(step: int) -> str:
    return f"checkpoint-{step}"


def complete_checkpoints(output_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint, oldest first."""
    if not output_dir.is_dir():
        return []
    found = []
    for entry in output_dir.iterdir():
        match = CHECKPOINT_PATTERN.match(entry.name)
        if match and (entry / TRAINER_STATE).is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(output_dir: Path) -> Path | None:
    checkpoints = complete_checkpoints(output_dir)
    return checkpoints[-1][1] if checkpoints else None


def checkpoint_problem(folder: Path) -> str | None:
    """Why `folder` cannot be resumed from (a file missing, truncated or unreadable), or None.

    Reads only headers and JSON: the weights, optimizer and generator files are checked against
    their own safetensors headers, which catch truncation."""
    try:
        for name in (TRAINER_STATE, "config.json", OPTIMIZER_JSON):
            read_json_file(folder / name)
        read_trainer_state(folder)
        weights = [folder / "model.safetensors"]
        index = folder / "model.safetensors.index.json"
        if not weights[0].is_file() and index.is_file():
            weights = [local_shard_path(index, shard) for shard in sorted(set(read_weight_map(index).values()))]
        optional = [folder / RNG_TENSORS] if (folder / RNG_TENSORS).is_file() else []
        for path in [*weights, folder / OPTIMIZER_TENSORS, *optional]:
            if not path.is_file():
                return f"{path} is missing"
            read_header(path)
    except (OSError, ValueError) as problem:
        return str(problem)
    except (KeyError, TypeError) as problem:  # a field of trainer_state.json missing or of the wrong type
        return f"{folder / TRAINER_STATE} is incomplete ({type(problem).__name__}: {problem})"
    return None


def read_json_file(path: Path) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None


def resumable_checkpoint(output_dir: Path) -> Path | None:
    """The newest checkpoint that is complete and readable; newer broken ones are named in a warning.

    Raises ValueError if there are checkpoints but none of them can be resumed from."""
    checkpoints = complete_checkpoints(output_dir)
    problems = []
    for _, folder in reversed(checkpoints):
        problem = checkpoint_problem(folder)
        if problem is None:
            if problems:
                logger.warning("--resume: %s; resuming from %s, the newest complete checkpoint",
                               "; ".join(problems), folder.name)
            return folder
        problems.append(f"{folder.name} cannot be resumed from ({problem})")
    if problems:
        raise ValueError(f"--resume: no checkpoint in {output_dir} can be resumed from: {'; '.join(problems)}; "
                         "pass --overwrite to start over")
    return None


def remove_unfinished_saves(output_dir: Path) -> None:
    for entry in output_dir.glob(f"{TEMP_PREFIX}*"):
        logger.warning("removing %s, left by a save that did not finish", entry)
        shutil.rmtree(entry, ignore_errors=True)


def save_tokenizers(source_tokenizer: Any, target_tokenizer: Any, folder: Path) -> None:
    """The source tokenizer at the top (AutoTokenizer.from_pretrained(folder) finds it); a different
    target tokenizer in `decoder_tokenizer/`."""
    source_tokenizer.save_pretrained(str(folder))
    if target_tokenizer is not source_tokenizer:
        target_tokenizer.save_pretrained(str(folder / DECODER_TOKENIZER_DIR))


def write_generation_config(folder: Path, generation_settings: dict[str, Any]) -> None:
    """Add the run's generation settings (beams, new tokens) to what model.save_pretrained wrote; the
    model's own values win."""
    path = folder / GENERATION_CONFIG_NAME
    write_json_atomic(path, {**generation_settings, **read_json_if_present(path)})


def sync_folder(folder: Path) -> None:
    """fsync every file and the folder itself, so the rename that follows publishes durable data."""
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    sync_folder_entry(folder)


@dataclass(frozen=True)
class CheckpointContents:
    """Everything a trainer checkpoint holds: the model and tokenizers `from_pretrained` reads, and what
    `--resume` needs (optimizer, generator states of every rank, progress)."""

    model: torch.nn.Module
    tokenizers: tuple[Any, Any]  # (source, target); one object twice when shared
    optimizer: torch.optim.Optimizer
    rng_states: list[torch.Tensor]
    trainer_state: TrainerState
    generation_settings: dict[str, Any]


def write_checkpoint_files(folder: Path, contents: CheckpointContents) -> None:
    contents.model.save_pretrained(str(folder))
    save_tokenizers(contents.tokenizers[0], contents.tokenizers[1], folder)
    write_generation_config(folder, contents.generation_settings)
    save_optimizer_state(contents.optimizer, folder)
    save_rng_states(contents.rng_states, folder)
    # Written last: its presence marks the folder as complete.
    text = json.dumps(contents.trainer_state.to_json_dict(), indent=2) + "\n"
    (folder / TRAINER_STATE).write_text(text, encoding="utf-8")


def save_checkpoint(output_dir: Path, contents: CheckpointContents) -> Path:
    """Write `checkpoint-<step>` atomically (temp folder, then rename) and return its path."""
    step = contents.trainer_state.step
    final = output_dir / checkpoint_name(step)
    temporary = output_dir / f"{TEMP_PREFIX}{step}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    write_checkpoint_files(temporary, contents)
    sync_folder(temporary)
    if final.exists():
        replaced = output_dir / f"{TEMP_PREFIX}{step}-replaced"
        os.rename(final, replaced)
        os.rename(temporary, final)
        shutil.rmtree(replaced, ignore_errors=True)
    else:
        os.rename(temporary, final)
    sync_folder_entry(output_dir)
    return final


def rotate_checkpoints(output_dir: Path, keep: int, best_step: int | None) -> list[Path]:
    """Delete all but the newest `keep` complete checkpoints and the best one; return what was deleted."""
    checkpoints = complete_checkpoints(output_dir)
    kept_steps = {step for step, _ in checkpoints[-keep:]}
    if best_step is not None:
        kept_steps.add(best_step)
    deleted = []
    for step, folder in checkpoints:
        if step not in kept_steps:
            shutil.rmtree(folder)
            deleted.append(folder)
    return deleted
