"""Linear products with a few rows that use every core.

Decoding multiplies one to a few rows (beams, a small batch) by each weight. On CPU, MKL runs such a
product on a single thread; slicing the weight's output features into a batch of equal products
(`torch.baddbmm`) lets the slices run on separate cores. Measured on the 2-core development machine with
the weights evicted from cache, as in decoding (docs/results.md): one row through the fused q/k/v weight
197 -> 141 us, feed-forward up 244 -> 168 us. `linear` slices views of the weight, copying nothing;
`SlicedWeight` copies a weight once into contiguous slices, which pays off for the LM head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

HEAD_SLICES = 8  # LM head, 2 threads: 1.4 / 2.7 / 5.8 ms at 1 / 4 / 16 rows, against 1.3 / 3.4 / 6.8 with 2 slices
FEW_ROWS = 8  # at most this many rows take the sliced product; at 16 rows MKL's own product is as fast


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """`x @ weight.T + bias` for `x` (..., in) and `weight` (out, in)."""
    slices = torch.get_num_threads()
    rows = x.numel() // x.shape[-1] if x.numel() else 0
    out_features, in_features = weight.shape
    if (
        slices < 2 or not 0 < rows <= FEW_ROWS or out_features % slices != 0 or torch.is_grad_enabled()
        or x.device.type != "cpu"
    ):
        return F.linear(x, weight, bias)
    width = out_features // slices
    # (out, in) -> (slices, in, out / slices): a view, one product per slice of output features
    sliced = weight.view(slices, width, in_features).transpose(1, 2)
    flat = x.reshape(1, rows, in_features).expand(slices, rows, in_features)
    if bias is None:
        y = torch.bmm(flat, sliced)
    else:
        y = torch.baddbmm(bias.view(slices, 1, width), flat, sliced)
    # (slices, rows, width) -> (..., out)
    return y.transpose(0, 1).reshape(*x.shape[:-1], out_features)


class Linear(nn.Linear):
    """`nn.Linear` (same parameters and checkpoint names) with `linear`'s few-row product."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)


class SlicedWeight:
    """A weight copied once into contiguous slices of its output features, (slices, in, out / slices),
    for many few-row products with it: the LM head during one generate() call.

    Contiguous slices read faster than views of the (out, in) weight: for the 30,522 x 384 head at one
    row, 1.35 ms against 2.5 ms. An output count that does not split evenly is padded with zero columns.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        self.out_features, in_features = weight.shape
        self.slices = HEAD_SLICES if weight.device.type == "cpu" and torch.get_num_threads() > 1 else 1
        width = -(-self.out_features // self.slices)
        padded = weight.new_zeros(self.slices * width, in_features)
        padded[: self.out_features] = weight
        self.weight = padded.view(self.slices, width, in_features).transpose(1, 2).contiguous()
        self.bias = None
        if bias is not None:
            self.bias = bias.new_zeros(self.slices * width)
            self.bias[: self.out_features] = bias
            self.bias = self.bias.view(self.slices, 1, width)

    def __call__(self, x: Tensor) -> Tensor:
        """(rows, in) -> (rows, out)"""
        rows = x.shape[0]
        flat = x.expand(self.slices, *x.shape)
        y = torch.bmm(flat, self.weight) if self.bias is None else torch.baddbmm(self.bias, flat, self.weight)
        # (slices, rows, width) -> (rows, out)
        return y.transpose(0, 1).reshape(rows, -1)[:, : self.out_features]
