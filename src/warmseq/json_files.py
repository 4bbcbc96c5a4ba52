"""The small JSON files of a model folder: their names, and reading them with errors that name the file.

No tensor library is imported here: configs, tokenizers, inspect, the trainer and the CLI all read
JSON through it (JSON Lines data files too, one line at a time)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GENERATION_CONFIG_NAME = "generation_config.json"


def parse_json_object(text: str, where: str, expected: str = "a JSON object") -> dict[str, Any]:
    """The JSON object in `text`; `where` (a file, a file and line) starts the error messages and
    `expected` says what it should have held."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected {expected}, got {type(data).__name__}")
    return data


def read_json_object(path: Path, expected: str = "a JSON object") -> dict[str, Any]:
    """The JSON object in the file `path`; `expected` says what the file should be, for the error messages."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; expected {expected}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text (byte {err.start}); expected {expected}") from None
    return parse_json_object(text, str(path), expected)


def read_json_if_present(path: Path, expected: str = "a JSON object") -> dict[str, Any]:
    """The JSON object in `path`, or an empty dict when there is no such file."""
    return read_json_object(path, expected) if Path(path).is_file() else {}
