"""Hold back part of a JSONL training file by source package, to score a recipe on data nobody tuned on.

usage: python scripts/holdout_split.py data/debian-synopsis/train.jsonl OUT_DIR [--share 10] [--field source_package]

Writes OUT_DIR/train-rest.jsonl and OUT_DIR/heldout.jsonl. A record is held back when the SHA-256 of its
`--field` value, as an integer, is divisible by `--share`: deterministic, and every binary package of one
source package lands on the same side (their descriptions share sentences), as in Debian's own splits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path


def is_held_back(key: str, share: int) -> bool:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % share == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("out_dir")
    parser.add_argument("--share", type=int, default=10, help="hold back about 1 in SHARE groups (default: 10)")
    parser.add_argument("--field", default="source_package", help="records with equal values stay together")
    args = parser.parse_args()
    if args.share < 2:
        parser.error(f"--share must be >= 2, got {args.share}")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = [line for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    held = [line for line in lines if is_held_back(str(json.loads(line)[args.field]), args.share)]
    rest = [line for line in lines if not is_held_back(str(json.loads(line)[args.field]), args.share)]
    (out / "heldout.jsonl").write_text("".join(line + "\n" for line in held), encoding="utf-8")
    (out / "train-rest.jsonl").write_text("".join(line + "\n" for line in rest), encoding="utf-8")
    print(f"{len(rest)} records in {out / 'train-rest.jsonl'}, {len(held)} held back in {out / 'heldout.jsonl'}")


if __name__ == "__main__":
    main()
