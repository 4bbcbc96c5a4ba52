"""Generate outputs for input texts with a saved encoder-decoder model; writes JSONL {"input", "output"}."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TextIO

from warmseq.cli.devices import check_device
from warmseq.cli.errors import UsageError
from warmseq.cli.sources import read_sources

# Flags passed to `model.generate` as GenerationConfig fields, only when given (else the model's
# generation_config.json decides): flag name -> type.
GENERATION_FLAGS = {
    "num_beams": int,
    "max_new_tokens": int,
    "no_repeat_ngram_size": int,
    "length_penalty": float,
    "top_p": float,
    "top_k": int,
    "temperature": float,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL_PATH", help="folder saved by save_pretrained (or a Hub id)")
    parser.add_argument("texts", metavar="TEXT", nargs="*", help="input texts (else --file, else piped stdin)")
    parser.add_argument("--file", help="one input per line; for .jsonl, the --source-field of each record")
    parser.add_argument("--source-field", default="text", help="text field of --file .jsonl records (default: text)")
    parser.add_argument("--output", help="JSONL file to write (default: stdout)")
    parser.add_argument("--tokenizer", help="tokenizer folder (default: MODEL_PATH)")
    parser.add_argument(
        "--decoder-tokenizer",
        help="output tokenizer (default: MODEL_PATH/decoder_tokenizer if present, else the input tokenizer)",
    )
    for name, kind in GENERATION_FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, help="GenerationConfig." + name)
    parser.add_argument("--do-sample", action="store_true", default=None, help="sample instead of searching")
    parser.add_argument("--seed", type=int, default=0, help="seed for --do-sample (default: 0)")
    parser.add_argument("--batch-size", type=int, default=16, help="inputs per forward pass (default: 16)")
    parser.add_argument(
        "--max-source-length",
        type=int,
        help="truncate inputs to this many tokens (default: what tokenizer and encoder allow)",
    )
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--compute-type", choices=["float32", "bf16", "int8"],
                        help="precision of the decoder's products (default: float32, exact)")
    parser.add_argument("--stream", action="store_true", help="one TEXT: print the output's pieces as they come")


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    check_device(args.device)
    if args.stream and args.output:
        raise UsageError("--stream prints to stdout; drop --output")
    sources = read_sources(args.texts, args.file, args.source_field)
    if args.stream and len(sources) != 1:
        raise UsageError(f"--stream takes exactly one input text, got {len(sources)}")
    model, source_tokenizer, target_tokenizer = load_model(args)
    limit = source_limit(args, model, source_tokenizer)
    rows = source_tokenizer(sources, truncation=True, max_length=limit)
    report_truncation(sources, rows["input_ids"], source_tokenizer, limit)
    options = generation_options(args, model)
    if args.stream:
        return stream_one(model, rows["input_ids"][0], target_tokenizer, options)
    outputs = generate_all(model, rows["input_ids"], source_tokenizer, target_tokenizer, options, args)
    with open_output(args.output) as handle:
        for source, output in zip(sources, outputs, strict=True):
            handle.write(json.dumps({"input": source, "output": output}, ensure_ascii=False) + "\n")
    return 0


def load_model(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from warmseq import EncoderDecoderModel
    from warmseq.devices import default_device
    from warmseq.tokenization import AutoTokenizer

    model = EncoderDecoderModel.from_pretrained(args.model).to(default_device(args.device)).eval()
    source_tokenizer = AutoTokenizer.from_pretrained(args.tokenizer or args.model)
    decoder_dir = Path(args.model) / "decoder_tokenizer"
    if args.decoder_tokenizer or decoder_dir.is_dir():
        return model, source_tokenizer, AutoTokenizer.from_pretrained(args.decoder_tokenizer or decoder_dir)
    return model, source_tokenizer, source_tokenizer


def source_limit(args: argparse.Namespace, model: Any, tokenizer: Any) -> int:
    """--max-source-length, else the smaller of the tokenizer's and the encoder's position limits."""
    if args.max_source_length is not None:
        if args.max_source_length < 1:
            raise UsageError(f"--max-source-length must be >= 1, got {args.max_source_length}")
        return args.max_source_length
    from warmseq.training.model_loading import usable_positions

    positions = usable_positions(model, "encoder")
    return min(tokenizer.model_max_length, positions or tokenizer.model_max_length)


def report_truncation(sources: list[str], rows: list[list[int]], tokenizer: Any, limit: int) -> None:
    """Say on stderr how many inputs were cut (a cut input loses its end silently otherwise)."""
    at_limit = [i for i, ids in enumerate(rows) if len(ids) >= limit]
    if not at_limit:
        return
    full = tokenizer([sources[i] for i in at_limit])["input_ids"]
    cut = sum(len(ids) > limit for ids in full)
    if cut:
        print(f"warmseq generate: {cut} of {len(sources)} input(s) were longer than {limit} tokens and were cut "
              f"to {limit} (--max-source-length)", file=sys.stderr)


def generation_options(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    import torch

    options = {name: getattr(args, name) for name in GENERATION_FLAGS if getattr(args, name) is not None}
    if args.compute_type is not None:
        options["compute_type"] = args.compute_type
    if args.do_sample:
        options["do_sample"] = True
        options["generator"] = torch.Generator(device=model.device).manual_seed(args.seed)
    return options


def generate_all(
    model: Any,
    rows: list[list[int]],
    source_tokenizer: Any,
    target_tokenizer: Any,
    options: dict[str, Any],
    args: argparse.Namespace,
) -> list[str]:
    """Output texts in input order; batches run longest first with a progress bar for file input."""
    from tqdm import tqdm

    from warmseq.cli.batches import length_sorted_batches

    pad_id = source_tokenizer.pad_token_id if source_tokenizer.pad_token_id is not None else 0
    outputs: list[str] = [""] * len(rows)
    show_bar = args.file is not None or not args.texts
    with tqdm(total=len(rows), unit="text", file=sys.stderr, disable=not show_bar) as bar:
        for batch in length_sorted_batches(rows, args.batch_size, pad_id):
            sequences = model.generate(
                batch.input_ids.to(model.device), attention_mask=batch.attention_mask.to(model.device), **options
            )
            texts = target_tokenizer.batch_decode(sequences.tolist(), skip_special_tokens=True)
            for index, text in zip(batch.indices, texts, strict=True):
                outputs[index] = text
            bar.update(len(batch.indices))
    return outputs


def stream_one(model: Any, ids: list[int], target_tokenizer: Any, options: dict[str, Any]) -> int:
    import torch

    from warmseq.generation import stream_text

    input_ids = torch.tensor([ids], device=model.device)
    tokens = model.stream(input_ids, attention_mask=torch.ones_like(input_ids), **options)
    for piece in stream_text(tokens, lambda so_far: target_tokenizer.decode(so_far, skip_special_tokens=True)):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def open_output(path: str | None) -> AbstractContextManager[TextIO]:
    if path is None:
        return nullcontext(sys.stdout)
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--output {path}: cannot be written ({error.strerror})") from error
