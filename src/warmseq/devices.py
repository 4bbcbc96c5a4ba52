"""The torch device to run on when the user names none: CUDA when available, else the CPU."""

from __future__ import annotations

import torch


def default_device(name: str | None = None, cuda_index: int | None = None) -> torch.device:
    """`name` when given ("cpu", "cuda:1", ...); else CUDA device `cuda_index` (a rank's local GPU, or the
    current one when None) when CUDA is available; else the CPU."""
    if name is not None:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda") if cuda_index is None else torch.device("cuda", cuda_index)
    return torch.device("cpu")
