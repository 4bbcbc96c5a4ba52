"""The products of a decode step in isolation: MKL's `F.linear` against warmseq's inference paths.

Each weight is copied until the copies overflow the L3 cache, and the copies are called in turn, so every
call reads its weight from memory as a decode step does. Prints milliseconds per product (median of 5);
`--compute-types` adds warmseq's bf16 and int8 products (`warmseq.modeling.quantization`).
Usage: python benchmarks/bench_linear.py [--rows 1,4,16,64] [--compute-types]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from warmseq.modeling.packed import PackedLinear
from warmseq.modeling.products import halves_product, has_onednn
from warmseq.modeling.quantization import BF16Linear, Int8Linear

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, threads  # noqa: E402

SHAPES = {  # MiniLM bert2bert decoder: (out, in)
    "LM head": (30522, 384),
    "fused q/k/v": (1152, 384),
    "attention out": (384, 384),
    "feed-forward up": (1536, 384),
    "feed-forward down": (384, 1536),
}
EVICTING_BYTES = 150_000_000  # several times the 32 MiB L3


def per_call_ms(calls: list[Callable[[], object]], repeats: int = 10) -> float:
    for call in calls:
        call()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            for call in calls:
                call()
        times.append((time.perf_counter() - start) / repeats / len(calls) * 1000)
    return median(times)


def timings(weights: list[torch.Tensor], x: torch.Tensor, low_precision: bool) -> list[float]:
    """ms per product of `x` with each weight in turn: F.linear, halves, then oneDNN plain and packed,
    then (`low_precision`) bf16 and int8."""
    cells = [per_call_ms([lambda w=w: F.linear(x, w) for w in weights]),
             per_call_ms([lambda w=w: halves_product(x, w, None) for w in weights])]
    if has_onednn():
        packed = [PackedLinear(w, None, x.shape[0]) for w in weights]
        cells.append(per_call_ms([lambda w=w: torch.ops.mkldnn._linear_pointwise(x, w, None, "none", [], "")
                                  for w in weights]))
        cells.append(per_call_ms([lambda p=p: p(x) for p in packed]))
    if low_precision:
        for kind in (lambda w: BF16Linear(w, None, x.shape[0]), lambda w: Int8Linear(w, None)):
            modules = [kind(w) for w in weights]
            cells.append(per_call_ms([lambda m=m: m(x) for m in modules]))
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,4,16,64")
    parser.add_argument("--compute-types", action="store_true", help="add bf16 and int8 columns")
    args = parser.parse_args()
    threads()
    rows_list = [int(r) for r in args.rows.split(",")]
    print(f"threads={torch.get_num_threads()} torch={torch.__version__} oneDNN={has_onednn()}")
    extra = f" {'bf16':>9} {'int8':>9}" if args.compute_types else ""
    print(f"{'product':<18} {'rows':>4} {'F.linear':>9} {'halves':>9} {'oneDNN':>9} {'packed':>9}{extra}  (ms)")
    with torch.inference_mode():
        for name, (out_features, in_features) in SHAPES.items():
            copies = max(2, EVICTING_BYTES // (out_features * in_features * 4))
            weights = [torch.randn(out_features, in_features) for _ in range(copies)]
            for rows in rows_list:
                cells = timings(weights, torch.randn(rows, in_features), args.compute_types)
                print(f"{name:<18} {rows:>4} " + " ".join(f"{c:>9.3f}" for c in cells), flush=True)

if __name__ == "__main__":
    main()
