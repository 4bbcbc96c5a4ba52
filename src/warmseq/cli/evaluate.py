"""Score a checkpoint (or a run folder's best checkpoint) on a data file; prints ROUGE."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from warmseq.cli.devices import check_device
from warmseq.cli.errors import UsageError
from warmseq.cli.generate import GENERATION_FLAGS
from warmseq.training.baselines import BASELINES
from warmseq.training.bootstrap import DEFAULT_RESAMPLES

if TYPE_CHECKING:
    from warmseq.training.evaluate import EvalResult

# Generation settings evaluate can override beside --num-beams and --max-new-tokens: flag name -> type.
SEARCH_FLAGS = {name: GENERATION_FLAGS[name] for name in ("no_repeat_ngram_size", "length_penalty")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        metavar="RUN_OR_CHECKPOINT",
        help="a checkpoint folder, or a run folder (its best checkpoint, else its latest)",
    )
    parser.add_argument("--data", required=True, help="data file: .jsonl, .csv, .tsv or .parquet")
    parser.add_argument("--source-field", default="text", help="source text field (default: text)")
    parser.add_argument("--target-field", default="summary", help="reference text field (default: summary)")
    parser.add_argument("--num-beams", type=int, help="default: the checkpoint's generation_config.json")
    parser.add_argument("--max-new-tokens", type=int, help="default: the checkpoint's generation_config.json")
    for name, kind in SEARCH_FLAGS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"), type=kind, help=f"GenerationConfig.{name} (default: the checkpoint's)"
        )
    parser.add_argument("--batch-size", type=int, default=16, help="sources per forward pass (default: 16)")
    parser.add_argument("--max-source-length", type=int, help="default: the length the checkpoint was trained with")
    parser.add_argument("--limit", type=int, help="score only the first N examples")
    parser.add_argument(
        "--output",
        help="predictions JSONL (default: predictions-<data>.jsonl in the checkpoint); "
        "scores-<data>.json goes beside it",
    )
    parser.add_argument("--bleu", action="store_true", help="add corpus BLEU (sacreBLEU)")
    parser.add_argument(
        "--baseline",
        choices=sorted(BASELINES),
        help="also score this baseline on the same examples ('lead': each source's first sentence)",
    )
    parser.add_argument(
        "--resamples", type=int, default=DEFAULT_RESAMPLES,
        help=f"bootstrap resamples for the 95%% intervals (default: {DEFAULT_RESAMPLES})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default: 0)")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--compute-type", choices=["float32", "bf16", "int8"],
                        help="precision of the decoder's products (default: float32, exact)")


def run(args: argparse.Namespace) -> int:
    from warmseq.training import evaluate

    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    check_device(args.device)
    if args.resamples < 1:
        raise UsageError(f"--resamples must be >= 1, got {args.resamples}")
    checkpoint = resolve_checkpoint(Path(args.checkpoint))
    output = Path(args.output) if args.output else None
    result = evaluate(
        checkpoint,
        args.data,
        source_field=args.source_field,
        target_field=args.target_field,
        output_dir=output.parent if output else None,
        num_beams=args.num_beams,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        max_examples=args.limit,
        max_source_length=args.max_source_length,
        with_bleu=args.bleu,
        device=args.device,
        generation={name: getattr(args, name) for name in (*SEARCH_FLAGS, "compute_type")
                    if getattr(args, name) is not None},
        baseline=args.baseline,
        resamples=args.resamples,
        seed=args.seed,
    )
    predictions = result.predictions_path
    if output is not None and predictions != output:
        predictions = predictions.replace(output)
    print(f"{checkpoint} on {args.data} ({result.count} examples); "
          f"[95% bootstrap interval, {args.resamples} resamples, seed {args.seed}]")
    print_scores(result)
    print(f"predictions: {predictions}\nscores: {result.scores_path}")
    return 0


def print_scores(result: EvalResult) -> None:
    """One line per score: the model's, then the baseline's and the model's lead over it on the same examples."""
    header = f"  {'':8} {'model':>22}"
    if result.baseline is not None:
        header += f" {result.baseline:>22} {'model - ' + result.baseline:>23}"
    print(header)
    for name, value in result.scores.items():
        parts = result.intervals.get(name)
        if parts is None:  # BLEU: a corpus score, no interval
            print(f"  {name + ':':8} {value:22.2f}")
            continue
        line = f"  {name + ':':8} {parts['system']!s:>22}"
        if "baseline" in parts:
            gain = parts["difference"]
            line += f" {parts['baseline']!s:>22} {gain.mean:+7.2f} [{gain.low:+.2f}, {gain.high:+.2f}]"
        print(line)


def resolve_checkpoint(path: Path) -> Path:
    """`path` itself when it holds config.json; for a run folder, its best checkpoint, else its latest."""
    from warmseq.training.state import latest_checkpoint, read_trainer_state

    if (path / "config.json").is_file():
        return path
    if not path.is_dir():
        raise UsageError(f"{path} does not exist; expected a checkpoint folder or a run folder")
    latest = latest_checkpoint(path)
    if latest is None:
        raise UsageError(
            f"{path} holds neither config.json nor complete checkpoint-<step> folders; "
            "expected a checkpoint folder or a run folder"
        )
    best_step = read_trainer_state(latest).best_step
    best = path / f"checkpoint-{best_step}"
    chosen = best if best_step is not None and (best / "config.json").is_file() else latest
    print(f"evaluating {chosen} ({'best' if chosen == best else 'latest'} checkpoint of the run)", file=sys.stderr)
    return chosen
