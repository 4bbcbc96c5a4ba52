"""Show the CPU kernel plan of this machine (which product path wins at each row count); --measure measures it again."""

from __future__ import annotations

import argparse
import os

from warmseq.cli.errors import UsageError


def positive_threads(text: str) -> int:
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        raise argparse.ArgumentTypeError(f"expected a number of threads of at least 1, got {text!r}")
    return threads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--measure", action="store_true",
                        help="measure the plan now (~10 s) and keep it in place of the kept one")
    parser.add_argument("--threads", type=positive_threads,
                        help="the torch thread count to plan for (each count has its own plan; default: torch's)")
    parser.add_argument("--json", action="store_true", help="print the plan file's JSON")


def run(args: argparse.Namespace) -> int:
    import torch

    from warmseq.modeling import calibration

    if args.threads:
        torch.set_num_threads(args.threads)
    switch = os.environ.get(calibration.ENV_SWITCH, "1")
    if calibration.switched_off(switch):
        if args.measure:
            raise UsageError(f"{calibration.ENV_SWITCH}={switch} turns the CPU paths off, so there is nothing to "
                             f"measure; unset it to measure the plan")
        print(f"CPU paths off ({calibration.ENV_SWITCH}={switch}): every product is F.linear")
        return 0
    machine = calibration.machine_key()
    path = calibration.plan_file(machine)
    kept = not args.measure and calibration.read_plan(path) is not None
    plan = calibration.measure_again() if args.measure else calibration.current_plan()
    if args.json:
        print(plan.to_json())
        return 0
    print(f"CPU kernel plan for {machine}")
    print(f"{'read from' if kept else 'measured into'} {path}")
    for line in plan.describe():
        print(f"  {line}")
    return 0
