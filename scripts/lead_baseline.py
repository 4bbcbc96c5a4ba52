"""ROUGE of the lead baseline: the first sentence of each description used as its synopsis.

usage: python scripts/lead_baseline.py DATA.jsonl [--limit N] [--source-field text] [--target-field summary]
(`warmseq evaluate RUN --data DATA --baseline lead` prints the same figures beside a model's, with intervals.)
"""

from __future__ import annotations

import argparse
import json

from warmseq.training.baselines import lead_sentence
from warmseq.training.metrics import rouge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--source-field", default="text")
    parser.add_argument("--target-field", default="summary")
    args = parser.parse_args()
    with open(args.data, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()][: args.limit]
    scores = rouge([lead_sentence(r[args.source_field]) for r in records], [r[args.target_field] for r in records])
    print(f"lead baseline on {len(records)} examples: "
          + ", ".join(f"{name} {value:.1f}" for name, value in scores.items()))


if __name__ == "__main__":
    main()
