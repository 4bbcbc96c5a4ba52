"""Greedy and beam-4 tokens of the JAX and TensorFlow ports beside warmseq's PyTorch model, on one checkpoint.

    python scripts/check_ports.py runs/debian/checkpoint-N [--examples 16] [--batch-size 8]

Reads real Debian descriptions (the validation split), pads each batch, makes 32 new tokens and prints, per
framework and search, how many rows equal the PyTorch side's tokens."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from warmseq import AutoTokenizer, EncoderDecoderModel

SEARCHES = {"greedy": dict(num_beams=1), "beam4": dict(num_beams=4, length_penalty=2.0, no_repeat_ngram_size=3)}


def descriptions(path: Path, count: int) -> list[str]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line, _ in zip(lines, range(count), strict=False)]


def as_rows(ids: object) -> list[list[int]]:
    """Token rows without trailing padding, from a torch, NumPy or TF array."""
    array = np.asarray(getattr(ids, "sequences", ids))
    return [list(row) for row in array]


def same_rows(ours: list[list[int]], theirs: list[list[int]], pad: int) -> int:
    def strip(row: list[int]) -> list[int]:
        while row and row[-1] == pad:
            row = row[:-1]
        return row

    return sum(strip(a) == strip(b) for a, b in zip(ours, theirs, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, default=Path("data/debian-synopsis/validation.jsonl"))
    parser.add_argument("--examples", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    from warmseq import FlaxEncoderDecoderModel, TFEncoderDecoderModel

    tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)
    models = {"flax": FlaxEncoderDecoderModel.from_pretrained(args.checkpoint),
              "tf": TFEncoderDecoderModel.from_pretrained(args.checkpoint)}
    reference = EncoderDecoderModel.from_pretrained(args.checkpoint).eval()
    texts = descriptions(args.data, args.examples)
    totals = {(name, search): 0 for name in models for search in SEARCHES}
    for start in range(0, len(texts), args.batch_size):
        batch = tokenizer(texts[start:start + args.batch_size], padding=True, truncation=True, max_length=64,
                          return_tensors="np")
        for search, settings in SEARCHES.items():
            with torch.no_grad():
                expected = as_rows(reference.generate(torch.from_numpy(batch.input_ids),
                                                      attention_mask=torch.from_numpy(batch.attention_mask),
                                                      max_new_tokens=32, **settings))
            for name, model in models.items():
                got = as_rows(model.generate(batch.input_ids, attention_mask=batch.attention_mask,
                                             max_new_tokens=32, **settings))
                totals[name, search] += same_rows(got, expected, tokenizer.pad_token_id)
    for (name, search), count in totals.items():
        print(f"{name:5s} {search:7s} {count}/{len(texts)} rows equal to PyTorch's tokens")
    print("example:", tokenizer.batch_decode(expected[:1], skip_special_tokens=True)[0])


if __name__ == "__main__":
    main()
