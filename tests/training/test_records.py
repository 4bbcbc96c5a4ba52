from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warmseq.training.records import read_text_pairs

ROWS = [
    {"doc": "first long text", "title": "one", "extra": 1},
    {"doc": "second, with comma", "title": "two", "extra": 2},
]


def test_reads_jsonl_csv_tsv_and_parquet_alike(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS) + "\n")
    (tmp_path / "d.csv").write_text('doc,title,extra\nfirst long text,one,1\n"second, with comma",two,2\n')
    (tmp_path / "d.tsv").write_text("doc\ttitle\textra\nfirst long text\tone\t1\nsecond, with comma\ttwo\t2\n")
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    for name in ("d.jsonl", "d.csv", "d.tsv", "d.parquet"):
        pairs = read_text_pairs(tmp_path / name, "doc", "title")
        assert pairs.sources == ["first long text", "second, with comma"], name
        assert pairs.targets == ["one", "two"], name


def test_missing_field_lists_the_fields_found(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    with pytest.raises(
        ValueError,
        match=r"d.jsonl, line 1: field\(s\) \['summary'\] not found; fields found: \['doc', 'title', 'extra'\]",
    ):
        read_text_pairs(tmp_path / "d.jsonl", "doc", "summary")
    (tmp_path / "d.csv").write_text("doc,title\na,b\n")
    with pytest.raises(
        ValueError, match=r"d.csv \(header\): field\(s\) \['text'\] not found; fields found: \['doc', 'title'\]"
    ):
        read_text_pairs(tmp_path / "d.csv", "text", "title")
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    with pytest.raises(ValueError, match=r"fields found: \['doc', 'title', 'extra'\]"):
        read_text_pairs(tmp_path / "d.parquet", "text", "title")


@pytest.mark.parametrize(
    "name, content", [("e.jsonl", ""), ("e.jsonl", "\n\n"), ("e.csv", ""), ("e.csv", "doc,title\n")]
)
def test_empty_file_is_named(tmp_path: Path, name: str, content: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=rf"{name} (holds no records|is empty)"):
        read_text_pairs(tmp_path / name, "doc", "title")


def test_unreadable_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text(json.dumps(ROWS[0]) + "\n" + '{"doc": "broken\n')
    with pytest.raises(ValueError, match=r"d.jsonl, line 2: not valid JSON"):
        read_text_pairs(tmp_path / "d.jsonl", "doc", "title")
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    with pytest.raises(ValueError, match=r"list.jsonl, line 1: expected a JSON object, got list"):
        read_text_pairs(tmp_path / "list.jsonl", "doc", "title")
    (tmp_path / "d.csv").write_text("doc,title\na,b\nc,d,e\n")
    with pytest.raises(ValueError, match=r"d.csv, line 3: 2 header names but more values"):
        read_text_pairs(tmp_path / "d.csv", "doc", "title")


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "d.xml").write_text("<a/>")
    with pytest.raises(ValueError, match=r"d.xml: unknown format '.xml'"):
        read_text_pairs(tmp_path / "d.xml", "doc", "title")
    with pytest.raises(FileNotFoundError, match=r"nothing.jsonl does not exist"):
        read_text_pairs(tmp_path / "nothing.jsonl", "doc", "title")
