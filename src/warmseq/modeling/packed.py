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
    else `linear`'s few-row product, with an odd vocabulary (GPT-2's 50,257) padded once by a zero row so
    that the product applies."""

    def __init__(self, weight: Tensor, bias: Tensor | None, rows: int) -> None:
        self.out_features = weight.shape[0]
        self.packed = None
        if packing_pays(rows, weight):
            self.packed = PackedLinear(weight, bias, rows)
        elif self.out_features % 2:
            weight = torch.cat([weight, weight.new_zeros(1, weight.shape[1])])
            bias = None if bias is None else torch.cat([bias, bias.new_zeros(1)])
        self.weight, self.bias = weight, bias

    def __call__(self, x: Tensor) -> Tensor:
        """(rows, in) -> (rows, out)"""
        y = linear(x, self.weight, self.bias) if self.packed is None else self.packed(x)
        return y if y.shape[-1] == self.out_features else y[..., : self.out_features]
