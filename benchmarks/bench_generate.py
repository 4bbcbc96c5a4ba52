"""warmseq vs the peer generating with the same MiniLM bert2bert weights, in one process.

Sources of 128 tokens (`--lengths`: others), exactly `--new-tokens` new tokens (no end token), fp32 unless
a compute type says otherwise. Prints ms per new token and speed ratios; `--sweep` runs greedy and beam 4
over batch sizes (the row sweep) with warmseq's int8 and bf16 beside them; `--memory` then measures peak
memory of beam 4 at batch 16, each side in a fresh subprocess. The CPU kernel plan is measured afresh first
(`--keep-plan` keeps the cached one), so the figures are for this machine as it is now.
Usage:
  python benchmarks/bench_generate.py --sweep                      # the whole table, ~5 min on a quiet machine
  python benchmarks/bench_generate.py [--rounds 5] [--cases greedy1,beam1,sample1,greedy16,beam16] [--memory]
  python benchmarks/bench_generate.py --lengths 32,128,256,512   # source lengths, 1 and 16 rows
  python benchmarks/bench_generate.py --device cuda --cases gpu    # GPU: batch 1, 16, 64; float32 and bf16
  python benchmarks/bench_generate.py --folder CHECKPOINT --data data/debian-synopsis/validation.jsonl
      # a fine-tuned checkpoint on real sources, rows ending at their own end tokens
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    build_pair,
    default_pair_folder,
    measure_in_children,
    median,
    peak_rss,
    source_batch,
    threads,
    timed_rounds,
)
from token_check import compare_tokens  # noqa: E402

CASES = {
    "greedy1": dict(batch=1, kwargs=dict()),
    "beam1": dict(batch=1, kwargs=dict(num_beams=4)),
    "sample1": dict(batch=1, kwargs=dict(do_sample=True, top_p=0.9)),
    "greedy16": dict(batch=16, kwargs=dict()),
    "beam16": dict(batch=16, kwargs=dict(num_beams=4)),  # not in the bars; run with --cases
}
DEFAULT_CASES = ("greedy1", "beam1", "sample1", "greedy16")
GREEDY_SWEEP = (1, 2, 4, 8, 12, 15, 16, 24, 32, 64)  # rows = batch
BEAM_SWEEP = (1, 2, 3, 4, 6, 8, 12, 16)  # beam 4: rows = 4 x batch, 4 to 64
GPU_BATCHES = (1, 16, 64)
LENGTH_CASES = (("greedy", 1, {}), ("beam4 b1", 1, dict(num_beams=4)), ("greedy", 16, {}),
                ("beam4 b4", 4, dict(num_beams=4)))  # --lengths: (label, batch, generate keywords)
SPECIAL = dict(eos_token_id=None, decoder_start_token_id=101, pad_token_id=0)
# columns that are not compute types: the decode step's layout (the default is static and compiled on CUDA,
# dynamic and eager on CPU)
VARIANTS = {
    "dynamic": dict(cache_implementation="dynamic"),
    "static-eager": dict(cache_implementation="static", disable_compile=True),
    "static-compiled": dict(cache_implementation="static"),
}


def load_both(folder: Path, device: str = "cpu"):
    import transformers

    import warmseq

    peer = transformers.EncoderDecoderModel.from_pretrained(folder).eval().to(device)
    ours = warmseq.EncoderDecoderModel.from_pretrained(folder).eval().to(device)
    return peer, ours


def calls_for(peer, ours, ids: torch.Tensor, kwargs: dict, compute_types: tuple[str, ...]) -> dict:
    """name -> zero-argument call: the peer, then warmseq in each compute type."""
    mask = torch.ones_like(ids)

    def call_peer():
        with torch.no_grad():
            return peer.generate(input_ids=ids, attention_mask=mask, **kwargs)

    calls = {"peer": call_peer}
    for kind in compute_types:
        options = VARIANTS.get(kind, dict(compute_type=kind))
        calls[kind] = lambda options=options: ours.generate(ids, attention_mask=mask, **options, **kwargs)
    return calls


def run_case(peer, ours, batch: int, kwargs: dict, rounds: int, compute_types: tuple[str, ...],
             new_tokens: int, device: str = "cpu", source_length: int = 128) -> dict:
    ids = source_batch(batch, source_length).to(device)
    kwargs = {**SPECIAL, "max_new_tokens": new_tokens, **kwargs}
    calls = calls_for(peer, ours, ids, kwargs, compute_types)
    same = "n/a (sampled)"
    if not kwargs.get("do_sample"):
        same = compare_tokens(peer, ours, ids, kwargs)
    times = timed_rounds(calls, rounds)
    ms = {name: median(t) * 1000 / new_tokens for name, t in times.items()}
    return {"ms": ms, "same": same}


def print_row(label: str, rows: int, result: dict, compute_types: tuple[str, ...]) -> None:
    ms = result["ms"]
    cells = [f"{label:<8} {rows:>4} {ms['peer']:>9.2f} {ms['float32']:>9.2f} {ms['peer'] / ms['float32']:>7.2f}x"]
    for kind in compute_types:
        if kind != "float32":
            cells.append(f"{ms[kind]:>8.2f} {ms['float32'] / ms[kind]:>5.2f}x")
    print(" ".join(cells) + f"  {result['same']}", flush=True)


def print_header(compute_types: tuple[str, ...]) -> None:
    extra = " ".join(f"{kind + ' ms':>8} {'vs f32':>6}" for kind in compute_types if kind != "float32")
    print(f"{'case':<8} {'rows':>4} {'peer ms':>9} {'ours ms':>9} {'speed-up':>8} {extra}  same tokens as the peer")


def run_sweep(folder: Path, rounds: int, compute_types: tuple[str, ...], new_tokens: int) -> None:
    peer, ours = load_both(folder)
    print(f"sweep: ms per new token, {new_tokens} new tokens, median of {rounds} rounds")
    print_header(compute_types)
    for batch in GREEDY_SWEEP:
        print_row("greedy", batch, run_case(peer, ours, batch, {}, rounds, compute_types, new_tokens), compute_types)
    for batch in BEAM_SWEEP:
        result = run_case(peer, ours, batch, dict(num_beams=4), rounds, compute_types, new_tokens)
        print_row(f"beam4 b{batch}", 4 * batch, result, compute_types)


def run_lengths(folder: Path, lengths: list[int], rounds: int, new_tokens: int) -> None:
    """Greedy and beam 4 at 1 and 16 rows over sources of each length: where the encoder's share grows."""
    peer, ours = load_both(folder)
    print(f"source lengths: ms per new token, {new_tokens} new tokens, median of {rounds} rounds")
    print(f"{'tokens':>6} {'case':<9} {'rows':>4} {'peer ms':>9} {'ours ms':>9} {'speed-up':>8}  "
          "same tokens as the peer")
    for length in lengths:
        for label, batch, kwargs in LENGTH_CASES:
            result = run_case(peer, ours, batch, kwargs, rounds, ("float32",), new_tokens, source_length=length)
            peer_ms, ours_ms = result["ms"]["peer"], result["ms"]["float32"]
            rows = batch * kwargs.get("num_beams", 1)
            print(f"{length:>6} {label:<9} {rows:>4} {peer_ms:>9.2f} {ours_ms:>9.2f} {peer_ms / ours_ms:>7.2f}x  "
                  f"{result['same']}", flush=True)


def run_speed(folder: Path, cases: list[str], rounds: int, new_tokens: int) -> None:
    peer, ours = load_both(folder)
    print(f"{'case':<10} {'peer ms/tok':>12} {'warmseq ms/tok':>15} {'speed-up':>9}  same tokens")
    for case in cases:
        spec = CASES[case]
        result = run_case(peer, ours, spec["batch"], spec["kwargs"], rounds, ("float32",), new_tokens)
        peer_ms, ours_ms = result["ms"]["peer"], result["ms"]["float32"]
        print(f"{case:<10} {peer_ms:>12.2f} {ours_ms:>15.2f} {peer_ms / ours_ms:>8.2f}x  {result['same']}", flush=True)


def run_data(folder: Path, data: Path, examples: int, batch: int, rounds: int, new_tokens: int) -> None:
    """Real sources with the checkpoint's own end tokens: the first `examples` records of `data` (its `text`
    field) in length-sorted batches, greedy and beam 4, whole passes; rows end at their own step."""
    import warmseq
    from warmseq.cli.batches import length_sorted_batches
    from warmseq.cli.sources import read_file_sources

    peer, ours = load_both(folder)
    tokenizer = warmseq.AutoTokenizer.from_pretrained(folder)
    texts = read_file_sources(data, "text")[:examples]
    ids = [tokenizer(text, truncation=True, max_length=64)["input_ids"] for text in texts]
    batches = list(length_sorted_batches(ids, batch, tokenizer.pad_token_id))
    print(f"{len(texts)} sources of {data} in batches of {batch}, at most {new_tokens} new tokens, "
          f"median of {rounds} rounds: ms per source")
    print(f"{'case':<8} {'peer ms':>9} {'ours ms':>9} {'speed-up':>8}  same tokens as the peer")
    for label, kwargs in (("greedy", dict(num_beams=1)), ("beam4", dict(num_beams=4))):
        kwargs = {**kwargs, "max_new_tokens": new_tokens}

        def peer_pass(kwargs=kwargs) -> list[torch.Tensor]:
            with torch.no_grad():
                return [peer.generate(input_ids=b.input_ids, attention_mask=b.attention_mask, **kwargs)
                        for b in batches]

        def ours_pass(kwargs=kwargs) -> list[torch.Tensor]:
            return [ours.generate(b.input_ids, attention_mask=b.attention_mask, **kwargs) for b in batches]

        pairs = list(zip(peer_pass(), ours_pass(), strict=True))
        same = sum(p.shape == o.shape and torch.equal(p, o) for p, o in pairs)
        times = timed_rounds({"peer": peer_pass, "ours": ours_pass}, rounds)
        peer_ms, ours_ms = (median(times[side]) * 1000 / len(texts) for side in ("peer", "ours"))
        print(f"{label:<8} {peer_ms:>9.2f} {ours_ms:>9.2f} {peer_ms / ours_ms:>7.2f}x  "
              f"{same}/{len(pairs)} batches", flush=True)


def run_gpu(folder: Path, rounds: int, new_tokens: int, device: str) -> None:
    """Batch 1, 16, 64 greedy and beam 4 on the GPU: the peer and warmseq in float32 (warmseq's default there:
    the static step compiled with CUDA graphs), and beside it warmseq's dynamic eager step and bf16."""
    peer, ours = load_both(folder, device)
    print(f"device={torch.cuda.get_device_name() if device.startswith('cuda') else device}")
    columns = ("float32", "dynamic", "bf16")
    print_header(columns)
    for batch in GPU_BATCHES:
        for label, kwargs in (("greedy", {}), ("beam4", dict(num_beams=4))):
            result = run_case(peer, ours, batch, kwargs, rounds, columns, new_tokens, device)
            print_row(f"{label} b{batch}", batch * kwargs.get("num_beams", 1), result, columns)


def peak_memory_child(folder: str, side: str) -> None:
    """Runs in a subprocess: load one side, then report the RSS peak of one beam-4 batch-16 generate."""
    threads()
    peer, ours = (None, None)
    if side == "peer":
        import transformers

        peer = transformers.EncoderDecoderModel.from_pretrained(folder).eval()
    else:
        import warmseq

        ours = warmseq.EncoderDecoderModel.from_pretrained(folder).eval()
    ids = source_batch(16)
    kwargs = {**SPECIAL, "max_new_tokens": 64, "num_beams": 4}

    def generate() -> None:
        with torch.no_grad():
            if peer is not None:
                peer.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
            else:
                ours.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)

    baseline, peak = peak_rss(generate)
    print(json.dumps({"baseline_mb": baseline, "peak_extra_mb": peak - baseline}))


def run_memory(folder: Path) -> None:
    results = measure_in_children(__file__, folder)
    p, o = results["peer"]["peak_extra_mb"], results["ours"]["peak_extra_mb"]
    print(f"beam4 batch16 peak memory above the loaded model: peer {p:.0f} MB, warmseq {o:.0f} MB "
          f"(ratio {o / p:.2f})")


def measure_kernel_plan() -> None:
    """Measure the CPU kernel plan afresh (and keep it), printing what it chose."""
    from warmseq.modeling import calibration

    plan = calibration.measure_again()
    print(f"kernel plan ({plan.machine}), fastest path by rows:")
    for line in plan.describe():
        print(f"  {line}")


def source_lengths(text: str) -> list[int]:
    """--lengths: checked when the arguments are read, before minutes of measuring."""
    try:
        lengths = [int(length) for length in text.split(",") if length.strip()]
    except ValueError:
        lengths = []
    if not lengths or not all(2 < length <= 512 for length in lengths):
        raise argparse.ArgumentTypeError(f"expected token counts from 3 to 512 (MiniLM's positions), such as "
                                         f"32,128,512; got {text!r}")
    return lengths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=None, help="default 5, 3 with --sweep or --lengths")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"some of {', '.join(CASES)}, or gpu")
    parser.add_argument("--sweep", action="store_true", help="greedy and beam 4 over batch sizes, with int8 and bf16")
    parser.add_argument("--lengths", type=source_lengths, default=[],
                        help="source lengths in tokens, e.g. 32,128,256,512: greedy and beam 4, 1 and 16 rows")
    parser.add_argument("--compute-types", default="float32,int8,bf16", help="with --sweep")
    parser.add_argument("--new-tokens", type=int, default=None, help="default 64, 32 with --sweep, --data or --lengths")
    parser.add_argument("--keep-plan", action="store_true", help="use the cached CPU kernel plan")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--memory", action="store_true", help="also measure beam-4 batch-16 peak memory")
    parser.add_argument("--memory-child")
    parser.add_argument("--folder")
    parser.add_argument("--data", help="real sources (a .jsonl with a 'text' field) for a fine-tuned --folder: "
                        "greedy and beam 4 with its own end tokens")
    parser.add_argument("--examples", type=int, default=256, help="with --data")
    parser.add_argument("--batch-size", type=int, default=16, help="with --data")
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(args.folder, args.memory_child)
        return
    count = threads()
    folder = Path(args.folder) if args.folder else default_pair_folder()
    build_pair(folder)
    rounds = args.rounds or (3 if args.sweep or args.lengths else 5)
    new_tokens = args.new_tokens or (32 if args.sweep or args.data or args.lengths else 64)
    print(f"threads={count} rounds={rounds} torch={torch.__version__} new tokens={new_tokens}")
    if args.device != "cpu":
        run_gpu(folder, rounds, new_tokens, args.device)
        return
    if not args.keep_plan:
        measure_kernel_plan()
    if args.data:
        run_data(folder, Path(args.data), args.examples, args.batch_size, rounds, new_tokens)
    elif args.lengths:
        run_lengths(folder, args.lengths, rounds, new_tokens)
    elif args.sweep:
        compute_types = tuple(k for k in args.compute_types.split(",") if k)
        if "float32" not in compute_types:
            compute_types = ("float32", *compute_types)
        run_sweep(folder, rounds, compute_types, new_tokens)
    else:
        run_speed(folder, [c for c in args.cases.split(",") if c], rounds, new_tokens)
    if args.memory:
        run_memory(folder)


if __name__ == "__main__":
    main()
