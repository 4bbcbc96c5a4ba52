"""The output folder of a run: `run.json` says which run it holds, so a second run cannot clobber it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from warmseq.json_files import read_json_object

from .config import RESUMABLE_FIELDS, TrainConfig
from .run_lock import LOCK_FILE
from .state import CHECKPOINT_PATTERN, TEMP_PREFIX

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
OWNED_FILES = (RUN_FILE, METRICS_FILE, "loss.png", "rouge.png")


def run_identity(config: TrainConfig) -> dict[str, Any]:
    """The settings that make a run what it is (those a resumption may change are left out)."""
    values = config.to_json_dict()
    return {name: value for name, value in values.items() if name not in RESUMABLE_FIELDS and name != "output_dir"}


def differing_fields(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    names = sorted(set(saved) | set(current))
    return [
        f"{name}: {saved.get(name)!r} -> {current.get(name)!r}"
        for name in names
        if saved.get(name) != current.get(name)
    ]


def clear_owned_entries(output_dir: Path) -> None:
    for entry in output_dir.iterdir():
        is_checkpoint = CHECKPOINT_PATTERN.match(entry.name) or entry.name.startswith(TEMP_PREFIX)
        if is_checkpoint and entry.is_dir():
            shutil.rmtree(entry)
        elif entry.name in OWNED_FILES:
            entry.unlink()


def prepare_run_folder(config: TrainConfig) -> None:
    """Create or check the output folder; raise if it holds something this run must not overwrite.

    An empty or missing folder starts a new run. A folder holding this run continues with --resume;
    --overwrite replaces any run (only files a run writes are removed).
    """
    output_dir = config.output_path
    run_file = output_dir / RUN_FILE
    identity = run_identity(config)
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"--output-dir {output_dir} is a file; expected a folder")
    has_content = output_dir.is_dir() and any(entry.name != LOCK_FILE for entry in output_dir.iterdir())
    if config.overwrite and has_content:
        clear_owned_entries(output_dir)
    elif has_content and not run_file.is_file():
        raise FileExistsError(
            f"--output-dir {output_dir} is not empty and holds no {RUN_FILE}; "
            "choose an empty folder or pass --overwrite"
        )
    elif has_content:
        saved = read_json_object(run_file, "the run file of a warmseq training run")
        differences = differing_fields(saved, identity)
        if differences and not config.resume:
            raise FileExistsError(
                f"--output-dir {output_dir} holds a different run ({RUN_FILE} differs in {differences}); "
                "choose another folder or pass --overwrite to replace it"
            )
        if differences:
            raise ValueError(
                f"--resume: the run in {output_dir} was started with other settings: {differences}; "
                "resume with the same settings or pass --overwrite to start over"
            )
        if not config.resume:
            raise FileExistsError(
                f"--output-dir {output_dir} already holds this run; pass --resume to continue it "
                "or --overwrite to start over"
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps(identity, indent=2, sort_keys=True) + "\n", encoding="utf-8")
