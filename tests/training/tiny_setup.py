"""Build the tiny files training tests run on: a WordPiece vocabulary, data slices, model folders."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from stand_in_model import write_stand_in_pretrained

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "debian-synopsis"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def read_records(path: Path, count: int) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            records.append(json.loads(line))
            if len(records) == count:
                break
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def write_vocabulary(folder: Path, word_count: int = 600) -> Path:
    """vocab.txt of the most common lower-cased words of the first training records, plus characters."""
    counts: Counter[str] = Counter()
    for record in read_records(DATA_DIR / "train.jsonl", 3000):
        counts.update(re.findall(r"[a-z0-9]+", (record["text"] + " " + record["summary"]).lower()))
    characters = [chr(code) for code in range(33, 127) if not chr(code).isupper()]
    words = [word for word, _ in counts.most_common(word_count) if word not in characters]
    vocab = SPECIAL_TOKENS + characters + ["##" + c for c in characters if c.isalnum()] + words
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def vocabulary_size(folder: Path) -> int:
    return len((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())


def write_stand_in_pair(root: Path, vocab_folder: Path, dropout: float = 0.0) -> tuple[Path, Path]:
    """Encoder and decoder folders for the stand-in model, each with the tokenizer files."""
    folders = []
    for name in ("encoder", "decoder"):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for file in ("vocab.txt", "tokenizer_config.json"):
            (folder / file).write_bytes((vocab_folder / file).read_bytes())
        write_stand_in_pretrained(folder, vocabulary_size(vocab_folder))
        sizes = json.loads((folder / "stand_in.json").read_text())
        sizes["dropout"] = dropout
        (folder / "stand_in.json").write_text(json.dumps(sizes))
        folders.append(folder)
    return folders[0], folders[1]
