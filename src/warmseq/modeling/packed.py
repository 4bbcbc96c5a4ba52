"""Inference copies of modules whose linear weights oneDNN has packed once for a known row count.

A decode step multiplies the same few rows (a batch, its beams) by every weight, step after step. oneDNN
multiplies fastest by a weight it has reordered into its own blocked layout, which costs one copy of the
weight (the MiniLM decoder and LM head: ~50 ms) and pays back within a few steps at 16 rows: the LM head
2.5 ms against 4.3-5.3 ms unpacked, the feed-forward up projection 0.16 ms against 0.24-0.31 ms
(`benchmarks/bench_linear.py`, docs/results.md). The copies share every other tensor with the original
and leave it untouched; they serve inference only."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from warmseq.modeling.linear import MANY_ROWS, has_onednn, linear


def packing_pays(rows: int, like: Tensor) -> bool:
    """Whether packing weights for `rows` rows of `like`'s device and dtype is available and faster."""
    return rows >= MANY_ROWS and like.device.type == "cpu" and like.dtype == torch.float32 and has_onednn()


class PackedLinear(nn.Module):
    """`x @ weight.T + bias` by a weight in oneDNN's layout; the layout is opaque, so nothing else reads it."""

    def __init__(self, weight: Tensor, bias: Tensor | None, rows: int) -> None:
        super().__init__()
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), rows)
        self.bias = None if bias is None else bias.detach()

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")


def with_packed_linears(module: nn.Module, rows: int) -> nn.Module:
    """A copy of `module` that shares its tensors, with every `nn.Linear` replaced by a `PackedLinear`."""
    shared = {id(t): t for t in (*module.parameters(), *module.buffers())}
    clone = copy.deepcopy(module, memo=shared)
    for name, child in list(clone.named_modules()):
        if isinstance(child, nn.Linear):
            parent, _, attribute = name.rpartition(".")
            setattr(clone.get_submodule(parent), attribute, PackedLinear(child.weight, child.bias, rows))
    return clone


class OutputProjection:
    """The LM head for the steps of one generate() call of `rows` rows: packed by oneDNN where that pays,
    else `linear`'s few-row product. An odd vocabulary (GPT-2's 50,257) takes that product for all but its
    last token, whose logit is one more small product, rather than a padded copy of the whole weight."""

    def __init__(self, weight: Tensor, bias: Tensor | None, rows: int) -> None:
        self.weight, self.bias = weight, bias
        self.packed = PackedLinear(weight, bias, rows) if packing_pays(rows, weight) else None

    def __call__(self, x: Tensor) -> Tensor:
        """(rows, in) -> (rows, out)"""
        if self.packed is not None:
            return self.packed(x)
        weight, bias = self.weight, self.bias
        if weight.shape[0] % 2 == 0:
            return linear(x, weight, bias)
        last = x @ weight[-1:].t()  # (rows, 1)
        if bias is not None:
            last = last + bias[-1:]
        return torch.cat([linear(x, weight[:-1], None if bias is None else bias[:-1]), last], dim=-1)
