"""`warmseq` entry point: build the parser, dispatch to one subcommand, turn user errors into one line.

Library errors for bad input (a missing folder, an unreadable file, a setting out of range) are
OSError or ValueError subclasses whose messages already name the thing and what was expected, so
they are printed as `warmseq <command>: error: <message>` with exit code 2 and no traceback.
Set WARMSEQ_TRACEBACK=1 to see the traceback anyway.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from warmseq.cli import evaluate, generate, inspect, kernels, train
from warmseq.cli.errors import UsageError

DESCRIPTION = "Warm-started encoder-decoder models: generate, train, evaluate, inspect; kernels shows the CPU plan."
USER_ERROR_EXIT = 2
COMMANDS = {"generate": generate, "train": train, "evaluate": evaluate, "inspect": inspect, "kernels": kernels}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warmseq", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        summary = module.__doc__.splitlines()[0]
        sub = commands.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("warmseq.training").setLevel(logging.INFO)  # a run's progress notes; loading notes stay quiet
    try:
        return args.run(args) or 0
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UsageError, OSError, ValueError, ImportError) as error:  # ImportError: a missing optional extra
        if os.environ.get("WARMSEQ_TRACEBACK"):
            raise
        print(f"warmseq {args.command}: error: {error}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print(f"warmseq {args.command}: interrupted", file=sys.stderr)
        return 130
