"""Inference copies of a decoder whose linear weights oneDNN has packed for a decode step's row count.

A decode step multiplies the same few rows (a batch, its beams) by every weight, step after step. oneDNN
multiplies fastest by a weight reordered into its own blocked layout (the LM head at 16 rows: 2.5 ms
against 4.3-5.3 ms unpacked on this project's machine, docs/results.md). The copy costs ~50 ms for MiniLM's
decoder and head, so it is made only where the kernel plan ranks the packed path fastest, and kept for the
next call with the same rows while the weights stay unchanged (`kept_modules`). The other products of the
copy take the unpacked path the plan ranks fastest for the rows, fixed once for the call (`PlannedLinear`)
rather than chosen at every product. The copies share every other tensor with the original and leave it
untouched; they serve inference only."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from warmseq.generation.row_max import row_max
from warmseq.modeling.calibration import current_plan
from warmseq.modeling.linear import linear, uses_cpu_paths
from warmseq.modeling.products import PRODUCTS, onednn_product, pack_weight
from warmseq.modeling.screening import ScreenedArgmax

# module -> compute type -> (key, copy): one entry per module (a decoder, an encoder) and compute type,
# dropped with the module; the key holds the row count and every parameter's storage and version, so changed
# weights are packed again.
_KEPT: weakref.WeakKeyDictionary[nn.Module, dict[str, tuple[tuple, Any]]] = weakref.WeakKeyDictionary()


def cpu_paths_apply(weight: Tensor) -> bool:
    """Whether inference products by `weight` may leave `F.linear` here (CPU, float32, the plan on)."""
    x = weight.new_empty((1, weight.shape[1]))
    with torch.inference_mode():
        return uses_cpu_paths(x, weight)


def plan_applies(weight: Tensor) -> bool:
    """Whether a measured kernel plan decides the inference products by `weight` here: `cpu_paths_apply`, and
    the CPU paths not turned off (whose plan names `F.linear` everywhere too)."""
    return cpu_paths_apply(weight) and not current_plan().turned_off


def screening_pays(rows: int, weight: Tensor) -> bool:
    """Whether a greedy step's LM head `weight` is fastest screened in bf16 for `rows` rows here."""
    return cpu_paths_apply(weight) and current_plan().screening_pays(rows)


def packing_pays(rows: int, weight: Tensor) -> bool:
    """Whether products of `rows` rows by `weight` are fastest with a packed copy here."""
    return cpu_paths_apply(weight) and current_plan().packing_pays(rows, *weight.shape)


class PackedLinear(nn.Module):
    """`x @ weight.T + bias` by a weight in oneDNN's layout; the layout is opaque, so nothing else reads it."""

    def __init__(self, weight: Tensor, bias: Tensor | None, rows: int) -> None:
        super().__init__()
        self.packed = pack_weight(weight, rows)
        self.bias = None if bias is None else bias.detach()

    def forward(self, x: Tensor) -> Tensor:
        return onednn_product(x, self.packed, self.bias)


def with_replaced_linears(module: nn.Module, replace: Callable[[nn.Linear], nn.Module | None]) -> nn.Module:
    """A copy of `module` sharing its tensors, with each `nn.Linear` for which `replace` gives a module
    replaced by it (None: kept)."""
    shared = {id(t): t for t in (*module.parameters(), *module.buffers())}
    clone = copy.deepcopy(module, memo=shared)
    for name, child in list(clone.named_modules()):
        if isinstance(child, nn.Linear):
            new = replace(child)
            if new is not None:
                parent, _, attribute = name.rpartition(".")
                setattr(clone.get_submodule(parent), attribute, new)
    return clone


class PlannedLinear(nn.Module):
    """`x @ weight.T + bias` by the unpacked path the plan ranks fastest for a decode step's rows, chosen once
    for the call instead of at each of a step's ~40 products (which costs a few microseconds each: a
    batch-1 MiniLM step is ~5 ms)."""

    def __init__(self, weight: Tensor, bias: Tensor | None, path: str) -> None:
        super().__init__()
        self.weight, self.bias, self.path = weight.detach(), None if bias is None else bias.detach(), path
        self.product = PRODUCTS[path]

    def forward(self, x: Tensor) -> Tensor:
        return self.product(x, self.weight, self.bias)


def step_path(rows: int, weight: Tensor) -> str | None:
    """The path of products by `weight` in decode steps of `rows` rows: "packed" where packing pays, else the
    plan's unpacked path; None where products stay with `F.linear` (not CPU float32, or the plan says so)."""
    if not cpu_paths_apply(weight):
        return None
    if current_plan().packing_pays(rows, *weight.shape):
        return "packed"
    path = current_plan().unpacked_path(rows, *weight.shape)
    return None if path == "linear" else path


def step_linear(child: nn.Linear, rows: int) -> nn.Module | None:
    """The module for `child`'s products in decode steps of `rows` rows (None: `child` itself)."""
    path = step_path(rows, child.weight)
    if path is None:
        return None
    if path == "packed":
        return PackedLinear(child.weight, child.bias, rows)
    return PlannedLinear(child.weight, child.bias, path)


def with_packed_linears(module: nn.Module, rows: int) -> nn.Module:
    """A copy of `module` sharing its tensors, each `nn.Linear` replaced by its `step_linear` for `rows` rows
    (packed, or the plan's unpacked path fixed for the call) where there is one."""
    return with_replaced_linears(module, lambda child: step_linear(child, rows))


class OutputProjection:
    """The LM head for the steps of one generate() call of `rows` rows: packed by oneDNN where that pays,
    else `linear`. An odd vocabulary (GPT-2's 50,257) on the halves path takes it for all but its last
    token, whose logit is one more small product, rather than a padded copy of the whole weight."""

    def __init__(self, weight: Tensor, bias: Tensor | None, rows: int) -> None:
        self.weight, self.bias, self.rows = weight, bias, rows
        self.packed = PackedLinear(weight, bias, rows) if packing_pays(rows, weight) else None
        self.screens = screening_pays(rows, weight)
        self.screen: ScreenedArgmax | None = None  # its bf16 copy is made at the first `best` (greedy only)

    def best(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(rows, in) -> each row's largest logit (rows,) and its token (rows,): screened in bf16 where that
        pays (`screening.py`; the float32 argmax all the same), else the max of `self(x)`."""
        if self.screens and self.screen is None:
            self.screen = ScreenedArgmax(self.weight, self.bias, self.rows)
        if self.screen is not None:
            return self.screen(x)
        return row_max(self(x))

    def __call__(self, x: Tensor) -> Tensor:
        """(rows, in) -> (rows, out)"""
        if self.packed is not None:
            return self.packed(x)
        weight, bias = self.weight, self.bias
        odd = weight.shape[0] % 2 == 1 and uses_cpu_paths(x, weight)
        if not odd or current_plan().unpacked_path(x.shape[0], weight.shape[0] + 1, weight.shape[1]) != "halves":
            return linear(x, weight, bias)
        last = x @ weight[-1:].t()  # (rows, 1)
        if bias is not None:
            last = last + bias[-1:]
        return torch.cat([linear(x, weight[:-1], None if bias is None else bias[:-1]), last], dim=-1)


def weights_key(module: nn.Module) -> tuple:
    return tuple((p.data_ptr(), p._version, p.dtype) for p in module.parameters())


def kept_modules(module: nn.Module, rows: int, build: Callable[[], Any], compute_type: str) -> Any:
    """`build()`'s inference copy of `module` (a decoder's for its steps, an encoder's in bf16 or int8), kept
    from the last call when rows, compute type and weights are the same (packing or quantizing costs tens
    of milliseconds; a decode step, a few)."""
    key = (rows, weights_key(module))
    kept = _KEPT.setdefault(module, {})
    if compute_type in kept and kept[compute_type][0] == key:
        return kept[compute_type][1]
    built = build()
    kept[compute_type] = (key, built)
    return built


def packed_decoder(decoder: Any, rows: int) -> tuple[nn.Module | None, OutputProjection]:
    """The decoder with the linears that pay packed (None: none does, use the decoder itself) and its LM head,
    for decode steps of `rows` rows."""
    head = OutputProjection(decoder.output_weight(), decoder.lm_head.bias, rows)
    linears = [m for m in decoder.modules() if isinstance(m, nn.Linear)]
    if not any(step_path(rows, m.weight) is not None for m in linears):
        return None, head
    return with_packed_linears(decoder, rows), head
