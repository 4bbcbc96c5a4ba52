"""The product `x @ weight.T + bias` for training on CPU through oneDNN, forward and backward.

On this project's AMD machine torch's `F.linear` and its backward go to MKL, which runs there at 35-70
GFLOP/s per core for a training step's products; oneDNN runs the same fp32 products at 110-200
(docs/results.md). `OneDNNLinear` keeps the arithmetic in fp32 and takes all three products of a linear
layer through oneDNN: the output, the input's gradient (`grad @ weight`) and the weight's gradient
(`grad.T @ x`), the last two on transposed views that oneDNN reads without a copy. Whether a machine
trains faster this way is measured once with the rest of the kernel plan (`calibration.py`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from warmseq.modeling.products import onednn_product


class OneDNNLinear(torch.autograd.Function):
    """`F.linear` with its forward and backward products computed by oneDNN (fp32, CPU)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return onednn_product(x, weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        x, weight = ctx.saved_tensors
        grad_rows = grad.reshape(-1, grad.shape[-1])  # (rows, out)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = onednn_product(grad_rows, weight.t(), None).view(x.shape)  # (rows, out) @ (out, in)
        if ctx.needs_input_grad[1]:
            x_rows = x.reshape(-1, x.shape[-1])
            grad_weight = onednn_product(grad_rows.t(), x_rows.t(), None)  # (out, rows) @ (rows, in)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad_rows.sum(0)
        return grad_x, grad_weight, grad_bias


def onednn_training_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    return OneDNNLinear.apply(x, weight, bias)
