"""The kernel plan: which product path (`products.py`) is fastest here, by kind of product and row count.

`calibration.py` measures it once per machine (`kernel_timing.py` does the timing) and keeps it as JSON;
`linear.py`, `packed.py` and `stack.py` read it. A plan also says where a greedy step's head is screened in
bf16, where a decode step's cross-attention takes weighted row sums, and which path training products take.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from warmseq.modeling.products import PATHS, has_bf16_onednn, has_onednn, path_applies

ROW_BUCKETS = (1, 2, 4, 8, 12, 16, 24, 32, 64)  # a row count uses the largest bucket at or below it
# Representative (out, in) weights of a decode step, by kind (MiniLM's: hidden 384, 30,522 tokens).
SHAPES = {"head": (30522, 384), "up": (1152, 384), "down": (384, 1536)}
TRAINING_PATHS = ("linear", "onednn")
FORMAT = 4
OFF = "off"  # the machine of the plan that turns the CPU paths off


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
        return cls({kind: [["linear"] for _ in ROW_BUCKETS] for kind in SHAPES}, {}, OFF,
                   screening=[False] * len(ROW_BUCKETS), bags=[False] * len(ROW_BUCKETS))

    @property
    def turned_off(self) -> bool:
        """Whether this is `plain()`, the plan of `WARMSEQ_CPU_KERNELS=0`, rather than one measured."""
        return self.machine == OFF

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
