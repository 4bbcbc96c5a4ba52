"""The TF port's XLA-compiled greedy generate beside warmseq's PyTorch generate, same MiniLM bert2bert weights.

Source 128 tokens, exactly 64 new tokens (no end token), fp32, in one process, calls alternated. Prints
the XLA compile time (first call of a shape, less one run) and ms per new token at batch 1 and 16, and whether both
sides wrote the same tokens. On a machine with a GPU, TF places the program there (`--device GPU:0`).
Usage: python benchmarks/bench_tf.py [--rounds 5] [--batches 1,16] [--device CPU:0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import build_pair, default_pair_folder, median, source_batch, threads, timed_rounds  # noqa: E402

NEW_TOKENS = 64
SETTINGS = dict(max_new_tokens=NEW_TOKENS, eos_token_id=None, decoder_start_token_id=101, pad_token_id=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--device", default="CPU:0")
    parser.add_argument("--folder", type=Path, default=default_pair_folder())
    args = parser.parse_args()
    import tensorflow as tf
    import torch

    import warmseq
    from warmseq.tf import TFEncoderDecoderModel

    count = threads()
    tf.config.threading.set_intra_op_parallelism_threads(count)
    folder = build_pair(args.folder)
    ours = warmseq.EncoderDecoderModel.from_pretrained(folder).eval()
    with tf.device(args.device):
        port = TFEncoderDecoderModel.from_pretrained(folder)
    print(f"threads={count} rounds={args.rounds} device={args.device} tf={tf.__version__} torch={torch.__version__}")
    print(f"{'batch':>5} {'XLA compile s':>14} {'TF XLA ms/tok':>14} {'PyTorch ms/tok':>15} {'TF/PyTorch':>11}  same")
    for batch in (int(b) for b in args.batches.split(",")):
        ids = source_batch(batch)
        ids_np = ids.numpy()
        with tf.device(args.device):
            start = time.perf_counter()
            first = port.generate(ids_np, **SETTINGS)  # traces and compiles this shape
            compile_s = time.perf_counter() - start

            def run_tf(ids_np=ids_np):
                return port.generate(ids_np, **SETTINGS).numpy()

            def run_torch(ids=ids):
                return ours.generate(ids, **SETTINGS)

            times = timed_rounds({"tf": run_tf, "torch": run_torch}, args.rounds)
            loaded = not (times["tf"] and times["torch"])
            if loaded:  # every round lost CPU to other processes: report CPU time per token instead
                times = cpu_rounds({"tf": run_tf, "torch": run_torch}, args.rounds)
        expected = run_torch().numpy()
        tf_ms, torch_ms = (1000 * median(times[k]) / NEW_TOKENS for k in ("tf", "torch"))
        compile_s -= median(times["tf"])  # the first call also ran the search once
        print(f"{batch:>5} {compile_s:>14.1f} {tf_ms:>14.2f} {torch_ms:>15.2f} {tf_ms / torch_ms:>10.2f}x  "
              f"{same_tokens(first.numpy(), expected, ours, ids)}{'  (CPU ms, machine loaded)' if loaded else ''}")


def cpu_rounds(calls: dict, rounds: int) -> dict[str, list[float]]:
    """CPU seconds per call: what a loaded machine still measures fairly."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            cpu = time.process_time()
            call()
            times[name].append(time.process_time() - cpu)
    return times


def same_tokens(ours_tokens, expected, model, ids) -> str:
    """"yes", or where the rows part and the PyTorch model's gap between its two best logits there."""
    import numpy as np
    import torch

    if np.array_equal(ours_tokens, expected):
        return "yes"
    row, column = map(int, np.argwhere(ours_tokens != expected)[0])
    with torch.no_grad():
        logits = model(input_ids=ids[row : row + 1],
                       decoder_input_ids=torch.from_numpy(expected[row : row + 1, :column])).logits[0, -1]
    best = torch.topk(logits, 2).values
    return f"no: row {row} parts at token {column}, PyTorch's top-2 gap there {float(best[0] - best[1]):.1e}"

if __name__ == "__main__":
    main()
