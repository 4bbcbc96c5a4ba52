"""warmseq vs the peer generating with the same MiniLM bert2bert weights, in one process.

Source 128 tokens, exactly 64 new tokens (no end token), fp32. Prints ms per new token and speed ratios;
then peak memory of beam 4 at batch 16, each side in a fresh subprocess (RSS sampled while generating).
Usage: python benchmarks/bench_generate.py [--rounds 5] [--cases greedy1,beam1,sample1,greedy16,beam16] [--memory]
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

NEW_TOKENS = 64
CASES = {
    "greedy1": dict(batch=1, kwargs=dict()),
    "beam1": dict(batch=1, kwargs=dict(num_beams=4)),
    "sample1": dict(batch=1, kwargs=dict(do_sample=True, top_p=0.9)),
    "greedy16": dict(batch=16, kwargs=dict()),
    "beam16": dict(batch=16, kwargs=dict(num_beams=4)),  # not in the bars; run with --cases
}
DEFAULT_CASES = ("greedy1", "beam1", "sample1", "greedy16")
COMMON = dict(max_new_tokens=NEW_TOKENS, eos_token_id=None, decoder_start_token_id=101, pad_token_id=0)


def load_both(folder: Path):
    import transformers

    import warmseq

    peer = transformers.EncoderDecoderModel.from_pretrained(folder).eval()
    ours = warmseq.EncoderDecoderModel.from_pretrained(folder).eval()
    return peer, ours


def run_speed(folder: Path, cases: list[str], rounds: int) -> None:
    peer, ours = load_both(folder)
    print(f"threads={torch.get_num_threads()} rounds={rounds} torch={torch.__version__}")
    print(f"{'case':<10} {'peer ms/tok':>12} {'warmseq ms/tok':>15} {'speed-up':>9}  same tokens")
    for case in cases:
        spec = CASES[case]
        ids = source_batch(spec["batch"])
        kwargs = {**COMMON, **spec["kwargs"]}
        sampled = kwargs.get("do_sample", False)

        def call_peer(ids=ids, kwargs=kwargs):
            with torch.no_grad():
                return peer.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)

        def call_ours(ids=ids, kwargs=kwargs):
            return ours.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)

        torch.manual_seed(0)
        expected = call_peer()
        torch.manual_seed(0)
        got = call_ours()
        same = "n/a (sampled)" if sampled else str(torch.equal(expected, got))
        assert got.shape[1] == NEW_TOKENS + 1, got.shape
        times = timed_rounds({"peer": call_peer, "ours": call_ours}, rounds)
        peer_ms, ours_ms = (median(times[k]) * 1000 / NEW_TOKENS for k in ("peer", "ours"))
        print(f"{case:<10} {peer_ms:>12.2f} {ours_ms:>15.2f} {peer_ms / ours_ms:>8.2f}x  {same}", flush=True)


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
    kwargs = {**COMMON, "num_beams": 4}

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"some of {', '.join(CASES)}")
    parser.add_argument("--memory", action="store_true", help="also measure beam-4 batch-16 peak memory")
    parser.add_argument("--memory-child")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(args.folder, args.memory_child)
        return
    threads()
    folder = Path(args.folder) if args.folder else default_pair_folder()
    build_pair(folder)
    run_speed(folder, [c for c in args.cases.split(",") if c], args.rounds)
    if args.memory:
        run_memory(folder)


if __name__ == "__main__":
    main()
