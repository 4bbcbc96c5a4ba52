"""Linear products for inference on CPU, by the path the machine's kernel plan ranks fastest.

`F.linear` hands every product to the BLAS (MKL), which on this project's AMD machine is slow for the one
to sixty-four rows of a decode step; other paths (`products.py`) are 1.5-5x faster there, and may be
slower on another processor. Without autograd, on CPU, in float32, `linear` takes the path that
`calibration.py` measured fastest for the product's kind and row count (never a packed copy: those are
made per decode step, `packed.py`). Training on CPU in float32 takes oneDNN forward and backward
(`training_products.py`) where the plan measured that faster. Autocast, other devices and dtypes, traced or
compiled graphs keep `F.linear`, and `WARMSEQ_CPU_KERNELS=0` makes it the only path."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.modeling.calibration import current_plan
from warmseq.modeling.products import (
    ONEDNN_ACTIVATIONS,
    halves_product,
    has_onednn,
    onednn_activated_product,
    run_path,
)
from warmseq.modeling.training_products import onednn_training_linear

__all__ = ["Linear", "activated_linear", "halves_product", "has_onednn", "linear", "uses_cpu_paths"]


def is_eager_cpu_fp32(x: Tensor, weight: Tensor) -> bool:
    """CPU, float32, eager and outside autocast: where a product may leave `F.linear`."""
    return not (
        x.device.type != "cpu" or x.dtype != torch.float32 or weight.dtype != torch.float32
        or torch.jit.is_tracing() or torch.compiler.is_compiling()  # exported graphs keep the portable op
        or torch.is_autocast_enabled("cpu")  # autocast's lower precision applies to F.linear only
        or not x.numel()
    )


def uses_cpu_paths(x: Tensor, weight: Tensor) -> bool:
    """Whether a product of `x` by `weight` may leave `F.linear` (inference, CPU, float32, eager)."""
    return not torch.is_grad_enabled() and is_eager_cpu_fp32(x, weight)


def trains_on_onednn(x: Tensor, weight: Tensor) -> bool:
    """Whether a product that autograd records goes through oneDNN (CPU, float32, eager, the plan's choice)."""
    return (
        torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad) and is_eager_cpu_fp32(x, weight)
        and current_plan().training_path == "onednn"
    )


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """`x @ weight.T + bias` for `x` (..., in) and `weight` (out, in)."""
    if not uses_cpu_paths(x, weight):
        if trains_on_onednn(x, weight):
            return onednn_training_linear(x, weight, bias)
        return F.linear(x, weight, bias)
    rows = x.numel() // x.shape[-1]
    out_features, in_features = weight.shape
    return run_path(current_plan().unpacked_path(rows, out_features, in_features), x, weight, bias)


def activated_linear(x: Tensor, weight: Tensor, bias: Tensor | None, activation: str,
                     apply: Callable[[Tensor], Tensor]) -> Tensor:
    """`apply(linear(x, weight, bias))`, where `apply` is the activation named `activation`; one oneDNN call
    with the activation fused in where the product goes to oneDNN anyway and oneDNN has that activation."""
    if activation in ONEDNN_ACTIVATIONS and uses_cpu_paths(x, weight):
        rows = x.numel() // x.shape[-1]
        if current_plan().unpacked_path(rows, *weight.shape) == "onednn":
            return onednn_activated_product(x, weight, bias, activation)
    return apply(linear(x, weight, bias))


class Linear(nn.Linear):
    """`nn.Linear` (same parameters and checkpoint names) with `linear`'s inference paths."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)

    def forward_activated(self, x: Tensor, activation: str, apply: Callable[[Tensor], Tensor]) -> Tensor:
        """`apply(self(x))`, `apply` being the activation named `activation` (see `activated_linear`)."""
        return activated_linear(x, self.weight, self.bias, activation, apply)
