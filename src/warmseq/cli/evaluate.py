"""Score a checkpoint (or a run folder's best checkpoint) on a data file; prints ROUGE."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warmseq.cli.errors import UsageError
from warmseq.cli.generate import GENERATION_FLAGS

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
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--compute-type", choices=["float32", "bf16", "int8"],
                        help="precision of the decoder's products (default: float32, exact)")


def run(args: argparse.Namespace) -> int:
    from warmseq.training import evaluate

    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
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
    )
    predictions = result.predictions_path
    if output is not None and predictions != output:
        predictions = predictions.replace(output)
    print(f"{checkpoint} on {args.data} ({result.count} examples)")
    for name, value in result.scores.items():
        print(f"  {name}: {value:.2f}")
    print(f"predictions: {predictions}\nscores: {result.scores_path}")
    return 0


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
