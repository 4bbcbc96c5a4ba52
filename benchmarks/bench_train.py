"""warmseq vs the peer training the same MiniLM bert2bert, in one process.

One step = forward + backward + AdamW on a batch of 16 (source 128 tokens, target 32 with some padding),
fp32. Each side runs the way its users run it: the peer with `model(..., labels=...).loss` and
torch's default AdamW; warmseq with the LM head applied only to target positions that count
(`return_logits=False`) and fused AdamW. Peak memory: each side in a fresh subprocess.
Usage: python benchmarks/bench_train.py [--rounds 5] [--runs 3] [--memory]
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


def batch() -> dict[str, torch.Tensor]:
    ids = source_batch(16)
    labels = torch.randint(1000, 30000, (16, 32))
    for row in range(16):  # targets of different lengths, padded with -100
        labels[row, 12 + row:] = -100
    labels[:, 11] = 102
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def load(folder: Path, side: str):
    if side == "peer":
        import transformers

        model = transformers.EncoderDecoderModel.from_pretrained(folder)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    else:
        import warmseq

        model = warmseq.EncoderDecoderModel.from_pretrained(folder)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    model.train()
    return model, optimizer


def train_step(model, optimizer, inputs, side: str) -> float:
    extra = {} if side == "peer" else {"return_logits": False}
    loss = model(**inputs, **extra).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def run_speed(folder: Path, rounds: int, runs: int) -> None:
    inputs = batch()
    sides = {side: load(folder, side) for side in ("peer", "ours")}
    # dropout off for the loss check only: same weights must give the same loss
    for model, _ in sides.values():
        model.eval()
    with torch.no_grad():
        losses = {side: float(m(**inputs).loss) for side, (m, _) in sides.items()}
    for model, _ in sides.values():
        model.train()
    calls = {side: (lambda side=side: train_step(*sides[side], inputs, side)) for side in sides}
    print(f"threads={torch.get_num_threads()} rounds={rounds} batch 16, source 128, target 32")
    print(f"loss before training: peer {losses['peer']:.6f}, warmseq {losses['ours']:.6f}")
    speed_ups = []
    for run in range(1, runs + 1):  # the bar holds in every run, not on average
        times = timed_rounds(calls, rounds)
        peer_s, ours_s = median(times["peer"]), median(times["ours"])
        speed_ups.append(peer_s / ours_s)
        print(f"run {run}: peer {peer_s:.3f} s/step ({16 / peer_s:.1f} samples/s), warmseq {ours_s:.3f} s/step "
              f"({16 / ours_s:.1f} samples/s), speed-up {peer_s / ours_s:.2f}x", flush=True)
    if runs > 1:
        print(f"speed-up over {runs} runs: lowest {min(speed_ups):.2f}x, highest {max(speed_ups):.2f}x")


def peak_memory_child(folder: str, side: str) -> None:
    threads()
    model, optimizer = load(Path(folder), side)
    inputs = batch()

    def two_steps() -> None:  # the first step also allocates the optimizer state
        for _ in range(2):
            train_step(model, optimizer, inputs, side)

    baseline, peak = peak_rss(two_steps)
    print(json.dumps({"peak_extra_mb": peak - baseline, "peak_mb": peak}))


def run_memory(folder: Path) -> None:
    results = measure_in_children(__file__, folder)
    p, o = results["peer"], results["ours"]
    print(f"peak RSS over two steps: peer {p['peak_mb']:.0f} MB, warmseq {o['peak_mb']:.0f} MB "
          f"(above the loaded model: {p['peak_extra_mb']:.0f} vs {o['peak_extra_mb']:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="measure this many times in a row (default 3)")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-child")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(args.folder, args.memory_child)
        return
    threads()
    folder = Path(args.folder) if args.folder else default_pair_folder()
    build_pair(folder)
    run_speed(folder, args.rounds, args.runs)
    if args.memory:
        run_memory(folder)


if __name__ == "__main__":
    main()
