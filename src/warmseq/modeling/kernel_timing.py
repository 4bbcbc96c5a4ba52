"""The short run that measures a kernel plan: every product path on representative weights, the greedy
head's bf16 screen, a decode step's cross-attention both ways, and training products, each timed by its
fastest pass with the weights evicted from cache as they are between a decode step's products."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from warmseq.generation.row_max import row_max
from warmseq.modeling.kernel_plan import ROW_BUCKETS, SHAPES, KernelPlan
from warmseq.modeling.memory_bags import MemoryBags, attend_bags
from warmseq.modeling.products import has_bf16_onednn, has_onednn, onednn_product, pack_weight, path_applies, run_path
from warmseq.modeling.screening import ScreenedArgmax
from warmseq.modeling.training_products import onednn_training_linear

EVICTING_BYTES = 64 * 2**20  # twice this machine's L3, and most servers' L3 slices: weights come from memory
# A training step's representative products, forward and backward: MiniLM's feed-forward over 16 x 64 tokens,
# both ways (on a Zen 4 EPYC oneDNN led by 1.12x on the first and 1.25-1.31x on the second, and a measurement
# of the first alone once read a tie and kept F.linear, whose whole training steps were 1.16x slower there).
TRAINING_SHAPES = ((1024, 1536, 384), (1024, 384, 1536))  # (rows, out, in) each
TRAINING_PASSES = 5
# A decode step's cross-attention per source, (heads, src_len, head_dim): MiniLM's over 128-token sources.
CROSS_ATTENTION_SHAPE = (12, 128, 32)
# Bags are taken where they beat `bmm` by a tenth: inside a step their extra small ops cost more than in the
# measurement (at one source here: 0-5% faster measured alone, 3.5% slower in whole greedy calls).
BAGS_MARGIN = 0.9


def calibrate(shapes: dict[str, tuple[int, int]] = SHAPES, buckets: tuple[int, ...] = ROW_BUCKETS,
              evicting_bytes: int = EVICTING_BYTES, passes: int = 3,
              training_shapes: tuple[tuple[int, int, int], ...] = TRAINING_SHAPES,
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
    # at least five passes: the two paths are within a few percent of each other for a single product on some
    # processors, while whole training steps differ more (Zen 4: 1.16x), and a burst of other work in a short
    # measurement has chosen the slower one
    training = time_training_paths(training_shapes, max(passes, TRAINING_PASSES))
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
    # imported here: attention.py's linears read the plan that calibration.py measures with this module
    from warmseq.modeling.attention import attend_with_weights

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


def time_training_paths(shapes: tuple[tuple[int, int, int], ...], passes: int) -> dict[str, float]:
    """Milliseconds per forward + backward of one product of each of `shapes` (rows, out, in) in turn, by
    training path."""
    # the plan is often first asked for inside generate(), under inference mode
    with torch.inference_mode(False), torch.enable_grad():
        operands = [(torch.randn(rows, in_features, requires_grad=True),
                     torch.randn(out_features, in_features, requires_grad=True), torch.randn(rows, out_features))
                    for rows, out_features, in_features in shapes]  # (x, weight, the output's gradient) each
        products = {"linear": torch.nn.functional.linear}
        if has_onednn():
            products["onednn"] = onednn_training_linear

        def run(product: Callable[..., torch.Tensor]) -> None:
            for x, weight, grad in operands:
                product(x, weight, None).backward(grad)

        runs = {path: lambda product=product: run(product) for path, product in products.items()}
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
