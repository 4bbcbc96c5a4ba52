"""Dropout with cheap random masks on CPU.

torch's CPU dropout draws one random number per element through `bernoulli_`; drawing 64 random bits
at a time and comparing 16-bit slices of them against a threshold gives the same kind of mask about
four times faster, which matters because dropout masks are a tenth of a training step on CPU. The
keep probability is rounded to a multiple of 1/65536 (0.9 -> 0.899994). CUDA keeps torch's fused kernel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

INT16_VALUES = 1 << 16


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> Tensor:
    """Bool tensor of `shape`, each element True with probability about 1 - p."""
    count = shape.numel()
    words = torch.randint(-(1 << 63), (1 << 63) - 1, ((count + 3) // 4,), dtype=torch.int64, device=device)
    bits = words.view(torch.int16)[:count].view(shape)  # uniform over [-32768, 32767]
    return bits >= round(p * INT16_VALUES) - INT16_VALUES // 2


def uses_cheap_mask(device_type: str) -> bool:
    """The 16-bit mask pays on CPU only; CUDA and other devices keep torch's fused dropout."""
    return device_type == "cpu"


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    if not training or p == 0.0:
        return x
    if not uses_cheap_mask(x.device.type):
        return F.dropout(x, p, True)
    return torch.where(keep_mask(x.shape, p, x.device), x, 0.0) * (1.0 / (1.0 - p))


class Dropout(nn.Module):
    """`nn.Dropout` with the cheaper CPU mask."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
