"""Where `warmseq generate` reads its input texts: the command line, a file, or piped stdin."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from warmseq.cli.errors import UsageError

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def read_sources(texts: list[str], file: str | None, source_field: str, stdin: TextIO = sys.stdin) -> list[str]:
    """TEXT arguments, else the lines (or JSONL `source_field`s) of `file`, else the lines of piped stdin."""
    if texts and file:
        raise UsageError("give input TEXT arguments or --file, not both")
    if texts:
        sources = list(texts)
    elif file:
        sources = read_file_sources(Path(file), source_field)
    elif not stdin.isatty():
        sources = non_blank(stdin.read().splitlines())
    else:
        raise UsageError("no input: give TEXT arguments, --file FILE, or pipe lines on stdin")
    if not sources or not any(text.strip() for text in sources):
        where = f"--file {file} holds" if file else "stdin holds" if not texts else "the TEXT arguments hold"
        raise UsageError(f"no input: {where} no non-blank text")
    return sources


def non_blank(lines: list[str]) -> list[str]:
    return [line for line in lines if line.strip()]


def read_file_sources(path: Path, source_field: str) -> list[str]:
    """One text per non-blank line; for .jsonl files, the `source_field` of each record."""
    if not path.is_file():
        raise UsageError(f"--file {path}: no such file")
    try:
        lines = non_blank(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--file {path}: cannot be read as UTF-8 text ({error})") from error
    if path.suffix.lower() not in JSON_SUFFIXES:
        return lines
    return [json_field(line, number, path, source_field) for number, line in enumerate(lines, start=1)]


def json_field(line: str, number: int, path: Path, field: str) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise UsageError(f"--file {path}, record {number}: not valid JSON ({error.msg})") from error
    if not isinstance(record, dict) or not isinstance(record.get(field), str):
        found = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise UsageError(
            f"--file {path}, record {number}: no text field {field!r} (found {found}); pick it with --source-field"
        )
    return record[field]
