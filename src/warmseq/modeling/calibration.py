"""Which product path (`products.py`) is fastest on this machine, by kind of product and row count.

Measured once per processor, torch version and thread count with a short run (a few seconds: every path on
three representative weights, the weights evicted from cache as in decoding; the greedy head's bf16 screen;
a decode step's cross-attention by `bmm` and by weighted row sums), then kept as JSON in the
user's cache folder (`WARMSEQ_CACHE_DIR`, else `$XDG_CACHE_HOME/warmseq`, else `~/.cache/warmseq`).
Threads and processes that start together on a machine without a plan (a `torchrun` job, a server's
workers) wait for the first of them to measure, then read its plan (`file_lock.py`).
`WARMSEQ_CPU_KERNELS=0` turns the CPU paths off: every product is `F.linear`, cross-attention is `bmm`, and
nothing is measured.
Constants tuned on one processor would make another slower than plain `F.linear` (MKL on Intel is fast).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from warmseq.atomic import write_text_atomic
from warmseq.file_lock import exclusive_lock
from warmseq.generation.row_max import row_max
from warmseq.modeling.memory_bags import MemoryBags, attend_bags
from warmseq.modeling.products import (
    PATHS,
    has_bf16_onednn,
    has_onednn,
    onednn_product,
    pack_weight,
    path_applies,
    run_path,
)
from warmseq.modeling.screening import ScreenedArgmax
from warmseq.modeling.training_products import onednn_training_linear

logger = logging.getLogger(__name__)

ENV_SWITCH = "WARMSEQ_CPU_KERNELS"
ENV_CACHE_DIR = "WARMSEQ_CACHE_DIR"
ROW_BUCKETS = (1, 2, 4, 8, 12, 16, 24, 32, 64)  # a row count uses the largest bucket at or below it
# Representative (out, in) weights of a decode step, by kind (MiniLM's: hidden 384, 30,522 tokens).
SHAPES = {"head": (30522, 384), "up": (1152, 384), "down": (384, 1536)}
EVICTING_BYTES = 64 * 2**20  # twice this machine's L3, and most servers' L3 slices: weights come from memory
# A training step's representative product, forward and backward: MiniLM's feed-forward over 16 x 64 tokens.
TRAINING_SHAPE = (1024, 1536, 384)  # (rows, out, in)
TRAINING_PATHS = ("linear", "onednn")
# A decode step's cross-attention per source, (heads, src_len, head_dim): MiniLM's over 128-token sources.
CROSS_ATTENTION_SHAPE = (12, 128, 32)
# Bags are taken where they beat `bmm` by a tenth: inside a step their extra small ops cost more than in the
# measurement (at one source here: 0-5% faster measured alone, 3.5% slower in whole greedy calls).
BAGS_MARGIN = 0.9
FORMAT = 4


def product_kind(out_features: int, in_features: int) -> str:
    """'head' for a vocabulary-sized output, 'down' when the input is wider, else 'up'."""
    if out_features >= 8 * in_features:
        return "head"
    return "down" if in_features > out_features else "up"


def bucket_of(rows: int) -> int:
    """Index into ROW_BUCKETS of the largest bucket at or below `rows` (rows >= 1)."""
    index = 0
    for i, bucket in enumerate(ROW_BUCKETS):
        if bucket <= rows:
            index = i
    return index


@dataclass
class KernelPlan:
    """Paths by kind and row bucket, fastest first; `timings_ms` keeps what was measured."""

    rankings: dict[str, list[list[str]]]  # kind -> per bucket -> paths, fastest first
    timings_ms: dict[str, list[dict[str, float]]]
    machine: str = ""
    training_path: str = "linear"  # the faster of TRAINING_PATHS for training products (forward + backward)
    screening: list[bool] | None = None  # per bucket: a greedy step's head screened in bf16 is the faster
    bags: list[bool] | None = None  # per bucket of sources: cross-attention by `memory_bags` is the faster

    def bags_pay(self, sources: int) -> bool:
        """Whether a decode step's cross-attention over `sources` sources is faster as weighted row sums
        (`memory_bags.attend_bags`) than by `bmm`."""
        return bool(self.bags) and self.bags[bucket_of(sources)]

    def screening_pays(self, rows: int) -> bool:
        """Whether the LM head of a greedy step of `rows` rows is faster screened in bf16
        (`screening.ScreenedArgmax`) than by its fastest float32 path and a max over each row."""
        return bool(self.screening) and self.screening[bucket_of(rows)] and has_bf16_onednn()

    def unpacked_path(self, rows: int, out_features: int, in_features: int) -> str:
        """The fastest path that needs no packed copy of the weight."""
        for path in self.rankings[product_kind(out_features, in_features)][bucket_of(rows)]:
            if path != "packed" and path_applies(path, out_features):
                return path
        return "linear"

    def packing_pays(self, rows: int, out_features: int, in_features: int) -> bool:
        """Whether a packed copy is the fastest path for products of `rows` rows."""
        ranking = self.rankings[product_kind(out_features, in_features)][bucket_of(rows)]
        return bool(ranking) and ranking[0] == "packed" and has_onednn()

    def to_json(self) -> str:
        body = {"format": FORMAT, "machine": self.machine, "buckets": ROW_BUCKETS, "rankings": self.rankings,
                "timings_ms": self.timings_ms, "training_path": self.training_path, "screening": self.screening,
                "bags": self.bags}
        return json.dumps(body, indent=1)

    @classmethod
    def from_json(cls, text: str) -> KernelPlan:
        body = json.loads(text)
        if body.get("format") != FORMAT or list(body.get("buckets", [])) != list(ROW_BUCKETS):
            raise ValueError("kernel plan: another format")
        if set(body["rankings"]) != set(SHAPES) or any(len(v) != len(ROW_BUCKETS) for v in body["rankings"].values()):
            raise ValueError("kernel plan: kinds or buckets missing")
        for per_bucket in body["rankings"].values():
            if any(path not in PATHS for ranking in per_bucket for path in ranking):
                raise ValueError("kernel plan: unknown path")
        if body.get("training_path") not in TRAINING_PATHS:
            raise ValueError("kernel plan: unknown training path")
        screening, bags = body.get("screening"), body.get("bags")
        for name, per_bucket in (("screening", screening), ("bags", bags)):
            if not (isinstance(per_bucket, list) and len(per_bucket) == len(ROW_BUCKETS)
                    and all(isinstance(pays, bool) for pays in per_bucket)):
                raise ValueError(f"kernel plan: {name} missing")
        return cls(body["rankings"], body["timings_ms"], body.get("machine", ""), body["training_path"], screening,
                   bags)

    @classmethod
    def plain(cls) -> KernelPlan:
        """`F.linear` everywhere (the CPU paths turned off)."""
        return cls({kind: [["linear"] for _ in ROW_BUCKETS] for kind in SHAPES}, {}, "off",
                   screening=[False] * len(ROW_BUCKETS), bags=[False] * len(ROW_BUCKETS))

    def describe(self) -> list[str]:
        """What the plan chose, one line per decision: the fastest path per kind of product by rows, where
        the greedy head is screened, where cross-attention takes row sums, and the training products' path."""
        def by_bucket(values: list) -> str:
            return " ".join(f"{rows}:{value}" for rows, value in zip(ROW_BUCKETS, values, strict=True))

        def yes_no(decisions: list[bool] | None) -> str:
            return by_bucket(["yes" if pays else "no" for pays in decisions or [False] * len(ROW_BUCKETS)])

        lines = [f"{kind:<5} {by_bucket([ranking[0] for ranking in per_bucket])}"
                 for kind, per_bucket in self.rankings.items()]
        lines.append(f"greedy head screened in bf16, by rows: {yes_no(self.screening)}")
        lines.append(f"cross-attention by row sums, by sources: {yes_no(self.bags)}")
        lines.append(f"training products: {self.training_path}")
        return lines


def machine_key() -> str:
    """What the measurements depend on: processor model, torch version, threads."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "warmseq"


def plan_file(machine: str) -> Path:
    digest = hashlib.sha1(machine.encode()).hexdigest()[:16]
    return cache_dir() / f"kernel-plan-{digest}.json"


def current_plan() -> KernelPlan:
    """The plan for this process's settings (cheap after the first call)."""
    return plan_for(os.environ.get(ENV_SWITCH, "1"), torch.get_num_threads())


def switched_off(switch: str) -> bool:
    """Whether the value of `WARMSEQ_CPU_KERNELS` turns the CPU paths off."""
    return switch.strip().lower() in ("0", "off", "false", "no")


@functools.cache
def plan_for(switch: str, threads: int) -> KernelPlan:
    if switched_off(switch):
        return KernelPlan.plain()
    machine = machine_key()
    path = plan_file(machine)
    plan = read_plan(path)
    if plan is not None:
        return plan
    # the first thread or process to get here measures; the others wait, then read the plan it kept, rather
    # than measure on a machine it is loading
    with exclusive_lock(lock_file(path)):
        return read_plan(path) or measure_plan(machine, path)


def measure_again() -> KernelPlan:
    """Measure the plan for this process's thread count now and keep it in place of the kept one (a plan
    measured while other work loaded the machine, a changed machine); later `current_plan` calls read it."""
    machine = machine_key()
    path = plan_file(machine)
    with exclusive_lock(lock_file(path)):
        plan = measure_plan(machine, path)
    plan_for.cache_clear()
    return plan


def lock_file(path: Path) -> Path:
    """The lock file beside a plan file: whoever holds it measures that plan."""
    return path.with_suffix(".lock")


def read_plan(path: Path) -> KernelPlan | None:
    try:
        return KernelPlan.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def measure_plan(machine: str, path: Path) -> KernelPlan:
    logger.info("warmseq: measuring CPU product paths once for %s (kept in %s; `warmseq kernels` shows the plan, "
                "`--measure` measures it again)", machine, path)
    plan = calibrate()
    plan.machine = machine
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, plan.to_json())
    except OSError as error:
        logger.warning("warmseq: could not keep the kernel plan in %s (%s); measuring again next time", path, error)
    return plan


def calibrate(shapes: dict[str, tuple[int, int]] = SHAPES, buckets: tuple[int, ...] = ROW_BUCKETS,
              evicting_bytes: int = EVICTING_BYTES, passes: int = 3,
              training_shape: tuple[int, int, int] = TRAINING_SHAPE,
              cross_attention_shape: tuple[int, int, int] = CROSS_ATTENTION_SHAPE) -> KernelPlan:
    """Time every applicable path per kind and bucket (best of `passes`), and rank them."""
    rankings: dict[str, list[list[str]]] = {}
    timings: dict[str, list[dict[str, float]]] = {}
    with torch.inference_mode():
        for kind, (out_features, in_features) in shapes.items():
            copies = max(2, evicting_bytes // (out_features * in_features * 4))
            weights = [torch.randn(out_features, in_features) for _ in range(copies)]
            rankings[kind], timings[kind] = [], []
            for rows in buckets:
                times = time_paths(weights, torch.randn(rows, in_features), passes)
                timings[kind].append({path: round(ms, 4) for path, ms in times.items()})
                rankings[kind].append(sorted(times, key=times.__getitem__))
    training = time_training_paths(training_shape, passes)
    timings["training"] = [{path: round(ms, 4) for path, ms in training.items()}]
    screening = time_screening(shapes["head"], buckets, evicting_bytes, passes)
    timings["screening"] = [{"screened": round(screened, 4), "row_max": round(row_maximum, 4)}
                            for screened, row_maximum in screening]
    # a greedy step needs the float32 head's fastest path and a max over each row, or the screen alone
    pays = [screened < min(head.values()) + row_maximum
            for (screened, row_maximum), head in zip(screening, timings["head"], strict=True)]
    cross_attention = time_cross_attention(cross_attention_shape, buckets, evicting_bytes, passes)
    timings["cross_attention"] = [{path: round(ms, 4) for path, ms in times.items()} for times in cross_attention]
    bags = [times["bags"] < BAGS_MARGIN * times["bmm"] for times in cross_attention]
    return KernelPlan(rankings, timings, training_path=min(training, key=training.__getitem__), screening=pays,
                      bags=bags)


def time_cross_attention(shape: tuple[int, int, int], buckets: tuple[int, ...], evicting_bytes: int,
                         passes: int) -> list[dict[str, float]]:
    """Milliseconds per decode-step cross-attention (one query per source) of `shape` (heads, src_len,
    head_dim), by `bmm` (`attention.attend_with_weights`) and by weighted row sums (`memory_bags`), with the
    keys and values evicted from cache as they are between a step's layers; by bucket of sources."""
    return [time_cross_attention_of(sources, shape, evicting_bytes, passes) for sources in buckets]


def time_cross_attention_of(sources: int, shape: tuple[int, int, int], evicting_bytes: int,
                            passes: int) -> dict[str, float]:
    from warmseq.modeling.attention import attend_with_weights  # attention.py's linears read this module's plan

    heads, src_len, head_dim = shape
    numel = sources * heads * src_len * head_dim
    copies = max(2, evicting_bytes // (2 * numel * 4))
    memory = torch.randn(copies, 2, numel)
    plain = [(kv[0].view(sources, heads, src_len, head_dim), kv[1].view(sources, heads, src_len, head_dim))
             for kv in memory]
    # the same memory seen as keys laid out for bags: (sources, heads, head_dim, src_len) in memory
    for_bags = [(k.view(sources, heads, head_dim, src_len).transpose(-2, -1), v) for k, v in plain]
    q = torch.randn(sources, heads, 1, head_dim)
    bags = MemoryBags.build(sources, heads, 1, src_len, head_dim, q.device)
    runs = {"bmm": lambda: [attend_with_weights(q, k, v, None, False, 0.0) for k, v in plain],
            "bags": lambda: [attend_bags(q, k, v, None, bags) for k, v in for_bags]}
    return {path: seconds / copies * 1000 for path, seconds in best_of_passes(runs, passes).items()}


def time_screening(shape: tuple[int, int], buckets: tuple[int, ...], evicting_bytes: int,
                   passes: int) -> list[tuple[float, float]]:
    """Milliseconds per bf16-screened argmax of a head of `shape` (out, in), and per max over (rows, out)
    logits, by bucket. Inputs and weights are standard normal, as a layer norm's outputs and a trained
    head's rows are up to scale, so that about as few tokens survive the screen as in decoding. The screen
    is infinitely slow without oneDNN's bf16 product."""
    out_features, in_features = shape
    copies = max(2, evicting_bytes // (out_features * in_features * 4))
    weights = [torch.randn(out_features, in_features) for _ in range(copies)] if has_bf16_onednn() else []
    times = []
    for rows in buckets:
        x, logits = torch.randn(rows, in_features), torch.randn(rows, out_features)
        runs = {"max": lambda logits=logits: row_max(logits)}
        if weights:
            screens = [ScreenedArgmax(w, None, rows) for w in weights]
            runs["screened"] = lambda screens=screens, x=x: [screen(x) for screen in screens]
        best = best_of_passes(runs, passes)
        screened = best["screened"] / copies * 1000 if weights else float("inf")
        times.append((screened, best["max"] * 1000))
    return times


def time_paths(weights: list[torch.Tensor], x: torch.Tensor, passes: int) -> dict[str, float]:
    """Milliseconds per product of `x` with each weight in turn, by path."""
    out_features = weights[0].shape[0]
    calls = {path: [lambda w=w, path=path: run_path(path, x, w, None) for w in weights]
             for path in ("linear", "halves", "onednn") if path_applies(path, out_features)}
    if path_applies("packed", out_features):
        packed = [pack_weight(w, x.shape[0]) for w in weights]
        calls["packed"] = [lambda p=p: onednn_product(x, p, None) for p in packed]
    runs = {path: lambda path_calls=path_calls: [call() for call in path_calls] for path, path_calls in calls.items()}
    best = best_of_passes(runs, passes)
    return {path: best[path] / len(calls[path]) * 1000 for path in calls}


def time_training_paths(shape: tuple[int, int, int], passes: int) -> dict[str, float]:
    """Milliseconds per forward + backward of one product of `shape` (rows, out, in), by training path."""
    # the plan is often first asked for inside generate(), under inference mode
    with torch.inference_mode(False), torch.enable_grad():
        rows, out_features, in_features = shape
        x = torch.randn(rows, in_features, requires_grad=True)
        weight = torch.randn(out_features, in_features, requires_grad=True)
        grad = torch.randn(rows, out_features)
        products = {"linear": torch.nn.functional.linear}
        if has_onednn():
            products["onednn"] = onednn_training_linear
        runs = {path: lambda product=product: product(x, weight, None).backward(grad)
                for path, product in products.items()}
        return {path: seconds * 1000 for path, seconds in best_of_passes(runs, passes).items()}


def best_of_passes(runs: dict[str, Callable[[], object]], passes: int) -> dict[str, float]:
    """Seconds of each run: the least of `passes` timed passes, after one pass that warms up (kernel choice,
    allocation) and is not kept. Other work on the machine only ever adds time, so the least pass is the
    closest to the run's own time; the passes alternate between the runs, so that a burst of other work
    slows them alike."""
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(passes):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
