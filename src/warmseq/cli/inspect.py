"""Describe a checkpoint without building it: families, sizes, parameter counts, special ids, tied weights."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="model folder (or Hub id)")
    parser.add_argument("--json", action="store_true", help="print the description as JSON")


def run(args: argparse.Namespace) -> int:
    from warmseq.inspect import describe_checkpoint, render_description

    info = describe_checkpoint(args.path)
    print(json.dumps(info, indent=2) if args.json else render_description(info))
    return 0
