"""AdamW with warmup and linear/cosine decay, and gradient clipping."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

NO_DECAY_NAME_PARTS = ("bias", "LayerNorm", "layer_norm", "layernorm", "norm.", "ln_")

# The learning rate measured best for the MiniLM pair (width 384) on a 30-minute CPU budget (docs/results.md).
REFERENCE_LR = 2e-4
REFERENCE_WIDTH = 384


def default_learning_rate(decoder_width: int | None) -> float:
    """REFERENCE_LR, scaled down in proportion for decoders wider than MiniLM's 384 (1e-4 for a base-sized 768).

    AdamW moves every weight by about the learning rate whatever its size, so the change of a layer's output
    per step grows with its fan-in; dividing by the width keeps that change the same as in the measured pair."""
    if decoder_width is None or decoder_width <= REFERENCE_WIDTH:
        return REFERENCE_LR
    return REFERENCE_LR * REFERENCE_WIDTH / decoder_width


def warmup_for(total_steps: int, warmup_steps: int | None, warmup_fraction: float) -> int:
    """An explicit warmup step count wins; otherwise `warmup_fraction` of the run (at least one step)."""
    if warmup_steps is not None:
        return warmup_steps
    return max(1, round(warmup_fraction * total_steps)) if warmup_fraction > 0 else 0


@dataclass(frozen=True)
class LearningRateSchedule:
    """Linear warmup to `peak_lr` over `warmup_steps`, then `kind` decay to zero at `total_steps`."""

    peak_lr: float
    warmup_steps: int
    total_steps: int
    kind: str = "linear"

    def lr_at(self, step: int) -> float:
        """Learning rate for optimizer step number `step` (0-based)."""
        if step < self.warmup_steps:
            return self.peak_lr * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.peak_lr
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        if self.kind == "linear":
            return self.peak_lr * (1.0 - progress)
        if self.kind == "cosine":
            return self.peak_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
        raise ValueError(f"learning-rate schedule {self.kind!r} is unknown; expected linear, cosine or constant")

    def with_total(self, total_steps: int, warmup_steps: int) -> LearningRateSchedule:
        """The same schedule stretched or shrunk to `total_steps` (a time budget's re-estimate)."""
        return LearningRateSchedule(self.peak_lr, warmup_steps, total_steps, self.kind)

    def to_json_dict(self) -> dict[str, float | int | str]:
        return {
            "peak_lr": self.peak_lr,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "kind": self.kind,
        }


def is_decayed(name: str, parameter: torch.Tensor) -> bool:
    return parameter.ndim >= 2 and not any(part in name for part in NO_DECAY_NAME_PARTS)


def build_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; biases and norms get no weight decay.

    Uses the fused kernel where torch has one for the parameters' device, else the foreach kernel.
    """
    decayed: list[torch.nn.Parameter] = []
    not_decayed: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (decayed if is_decayed(name, parameter) else not_decayed).append(parameter)
    groups = [
        {"params": decayed, "weight_decay": weight_decay},
        {"params": not_decayed, "weight_decay": 0.0},
    ]
    device_type = (decayed or not_decayed)[0].device.type
    if device_type in ("cpu", "cuda"):
        try:
            return torch.optim.AdamW(groups, lr=lr, fused=True)
        except (RuntimeError, TypeError):
            pass
    return torch.optim.AdamW(groups, lr=lr, foreach=True)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_gradients(model: torch.nn.Module, max_norm: float | None) -> float:
    """Clip the global gradient norm to `max_norm` (if given); return the norm before clipping."""
    parameters = [p for p in model.parameters() if p.grad is not None]
    if not parameters:
        return 0.0
    if max_norm is None:
        norms = torch.stack([p.grad.detach().norm() for p in parameters])
        return float(norms.norm())
    return float(torch.nn.utils.clip_grad_norm_(parameters, max_norm, foreach=True))
