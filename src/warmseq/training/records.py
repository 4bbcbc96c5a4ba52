"""Read (source, target) text pairs from JSON Lines, CSV/TSV or Parquet files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from warmseq.json_files import parse_json_object

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class TextPairs:
    """Parallel lists of source and target strings read from one file."""

    path: Path
    sources: list[str]
    targets: list[str]

    def __len__(self) -> int:
        return len(self.sources)


def read_text_pairs(path: str | Path, source_field: str, target_field: str) -> TextPairs:
    """Read the `source_field` and `target_field` of every record in `path`.

    The format follows the suffix: .jsonl/.ndjson/.json (one JSON object per line), .csv, .tsv,
    .parquet. Raises ValueError naming the file (and line) for missing fields, empty files and
    unreadable lines.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        rows = read_jsonl_fields(path, source_field, target_field)
    elif suffix in CSV_SUFFIXES:
        rows = read_delimited_fields(path, CSV_SUFFIXES[suffix], source_field, target_field)
    elif suffix in PARQUET_SUFFIXES:
        rows = read_parquet_fields(path, source_field, target_field)
    else:
        known = sorted((*JSONL_SUFFIXES, *CSV_SUFFIXES, *PARQUET_SUFFIXES))
        raise ValueError(f"data file {path}: unknown format {suffix!r}; expected one of {known}")
    if not rows[0]:
        raise ValueError(f"data file {path} holds no records; expected at least one")
    return TextPairs(path, rows[0], rows[1])


def missing_field_error(path: Path, where: str, wanted: list[str], found: list[str]) -> ValueError:
    missing = [name for name in wanted if name not in found]
    return ValueError(
        f"data file {path}{where}: field(s) {missing} not found; fields found: {found}. "
        "Pick them with --source-field / --target-field"
    )


def text_value(value: object, path: Path, where: str, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"data file {path}{where}: field {name!r} should be a string, got {type(value).__name__}")
    return value


def decode_line(raw: bytes, path: Path, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"data file {path}{where}: not valid UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1}); "
            "save the file as UTF-8"
        ) from None


def check_utf8(path: Path) -> None:
    """Raise naming the first line that is not UTF-8 (the csv module would only say 'codec can't decode')."""
    with path.open("rb") as lines:
        for line_number, raw in enumerate(lines, start=1):
            decode_line(raw, path, f", line {line_number}")


def read_jsonl_fields(path: Path, source_field: str, target_field: str) -> tuple[list[str], list[str]]:
    sources: list[str] = []
    targets: list[str] = []
    with path.open("rb") as lines:
        for line_number, raw in enumerate(lines, start=1):
            where = f", line {line_number}"
            line = decode_line(raw, path, where)
            if not line.strip():
                continue
            where = f", line {line_number}"
            record = parse_json_object(line, f"data file {path}{where}")
            if source_field not in record or target_field not in record:
                raise missing_field_error(path, where, [source_field, target_field], list(record))
            sources.append(text_value(record[source_field], path, where, source_field))
            targets.append(text_value(record[target_field], path, where, target_field))
    return sources, targets


def read_delimited_fields(
    path: Path, delimiter: str, source_field: str, target_field: str
) -> tuple[list[str], list[str]]:
    sources: list[str] = []
    targets: list[str] = []
    check_utf8(path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        found = list(reader.fieldnames or [])
        if not found:
            raise ValueError(f"data file {path} is empty; expected a header line and records")
        if source_field not in found or target_field not in found:
            raise missing_field_error(path, " (header)", [source_field, target_field], found)
        for row in reader:
            if None in row:
                raise ValueError(f"data file {path}, line {reader.line_num}: {len(found)} header names but more values")
            sources.append(row[source_field] or "")
            targets.append(row[target_field] or "")
    return sources, targets


def read_parquet_fields(path: Path, source_field: str, target_field: str) -> tuple[list[str], list[str]]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise ImportError(f"data file {path}: reading Parquet needs pyarrow: pip install \"warmseq[train]\"") from None

    try:
        schema_names = list(parquet.read_schema(path).names)
    except Exception as error:
        raise ValueError(f"data file {path}: not a readable Parquet file ({error})") from error
    if source_field not in schema_names or target_field not in schema_names:
        raise missing_field_error(path, "", [source_field, target_field], schema_names)
    table = parquet.read_table(path, columns=[source_field, target_field])
    columns = []
    for name in (source_field, target_field):
        values = table.column(name).to_pylist()
        columns.append([text_value(value, path, f", row {row + 1}", name) for row, value in enumerate(values)])
    return columns[0], columns[1]
