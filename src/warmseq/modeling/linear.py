"""Linear products with a few rows, as decoding makes them.

Decoding multiplies one to a few dozen rows (beams, a small batch) by each weight. On CPU,
`F.linear(x, W)` hands such a product to MKL as `x @ W.T`, which for a few rows is slow and single-
threaded. The same product written as `W @ x.T`, with `W` viewed as two halves of its output features
and multiplied as a batch of two (`torch.bmm`), runs several times faster: measured on the 2-core
development machine with the weights evicted from cache, as in decoding (docs/results.md), the fused
q/k/v weight (1,152 x 384) takes 64 us at 1 row against 188 us, 72 us at 4 rows against 254 us; the
30,522 x 384 LM head 1.0 ms at 1 row against 5.2 ms, 1.9 ms at 4 rows against 7.9 ms. The halves are
views of the weight, so nothing is copied."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FEW_ROWS = 64  # up to beam 4 at batch 16; past this MKL's own product catches up


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """`x @ weight.T + bias` for `x` (..., in) and `weight` (out, in)."""
    rows = x.numel() // x.shape[-1] if x.numel() else 0
    out_features, in_features = weight.shape
    if not 0 < rows <= FEW_ROWS or out_features % 2 or torch.is_grad_enabled() or x.device.type != "cpu":
        return F.linear(x, weight, bias)
    half = out_features // 2
    halves = weight.view(2, half, in_features)  # (2, out / 2, in)
    columns = x.reshape(rows, in_features).t().expand(2, in_features, rows)  # (2, in, rows)
    if bias is None:
        y = torch.bmm(halves, columns)
    else:
        y = torch.baddbmm(bias.view(2, half, 1), halves, columns)
    # (2, out / 2, rows) -> (..., out), copied to row-major order as the ops that follow expect
    return y.view(out_features, rows).t().contiguous().view(*x.shape[:-1], out_features)


class Linear(nn.Linear):
    """`nn.Linear` (same parameters and checkpoint names) with `linear`'s few-row product."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)


class OutputProjection:
    """The LM head for the steps of one generate() call: `linear` with the head's weight, padded once with
    a zero row when the vocabulary is odd (GPT-2's 50,257) so that the fast product applies."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        self.out_features = weight.shape[0]
        self.weight, self.bias = weight, bias
        if self.out_features % 2:
            self.weight = torch.cat([weight, weight.new_zeros(1, weight.shape[1])])
            self.bias = None if bias is None else torch.cat([bias, bias.new_zeros(1)])

    def __call__(self, x: Tensor) -> Tensor:
        """(rows, in) -> (rows, out)"""
        y = linear(x, self.weight, self.bias)
        return y if y.shape[-1] == self.out_features else y[..., : self.out_features]
