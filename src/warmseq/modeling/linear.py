"""Linear products for inference on CPU, where the default path is slow on this project's machines.

`F.linear` hands every product to MKL, which on the AMD development machine runs `x @ W.T` at about
110 GFLOP/s at best and far below that for the one to sixteen rows of a decode step. Without autograd,
on CPU, in float32, this module takes two faster paths instead (measured with the weights evicted from
cache, as in decoding; figures in docs/results.md):

- up to a few rows: `W @ x.T` with `W` viewed as two halves of its output features, multiplied as a
  batch of two (`torch.bmm`). The fused q/k/v weight (1,152 x 384) takes 63 us at 1 row against 188 us;
  the 30,522 x 384 LM head 1.1 ms against 5.2 ms. The halves are views: nothing is copied.
- more rows: oneDNN's inner product (`torch.ops.mkldnn._linear_pointwise`, an operator torch registers
  for its own compiler), about 210 GFLOP/s on the encoder's 2,048 rows against 130-190, and 4.3-5.3 ms
  for the LM head at 16 rows against 7.8-8.8 ms.

Training keeps `F.linear` and its gradients."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MANY_ROWS = 16  # from here oneDNN's product is the faster one
MANY_ROWS_WIDE_INPUT = 4  # ... and from here when the input is wider than the output (feed-forward down)


@functools.cache
def has_onednn() -> bool:
    """Whether oneDNN's product and weight packing run here: probed once on a tiny product, since a build
    may register the operators yet fail to create their kernels (other CPUs, other builds)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        x, weight = torch.ones(2, 4), torch.ones(2, 4)
        with torch.inference_mode():
            y = torch.ops.mkldnn._linear_pointwise(x, weight, None, "none", [], "")
            packed = torch.ops.mkldnn._reorder_linear_weight(weight, 2)
            z = torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")
        return bool((y == 4).all() and (z == 4).all())
    except (AttributeError, RuntimeError):
        return False


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """`x @ weight.T + bias` for `x` (..., in) and `weight` (out, in)."""
    if (
        torch.is_grad_enabled() or x.device.type != "cpu" or x.dtype != torch.float32
        or weight.dtype != torch.float32
        or torch.jit.is_tracing() or torch.compiler.is_compiling()  # exported graphs keep the portable op
        or torch.is_autocast_enabled("cpu")  # autocast's lower precision applies to F.linear only
        or not x.numel()
    ):
        return F.linear(x, weight, bias)
    rows = x.numel() // x.shape[-1]
    out_features, in_features = weight.shape
    many = MANY_ROWS_WIDE_INPUT if in_features > out_features else MANY_ROWS
    if rows < many and out_features % 2 == 0:
        return halves_product(x, weight, bias)
    if has_onednn():
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
    return F.linear(x, weight, bias)


def halves_product(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """`linear` for a few rows and an even number of outputs, as a batch of two `W_half @ x.T`."""
    rows = x.numel() // x.shape[-1]
    out_features, in_features = weight.shape
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
    """`nn.Linear` (same parameters and checkpoint names) with `linear`'s inference paths."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)
