"""Checks on what users pass to a model, with errors that say what was expected."""

from __future__ import annotations

import torch
from torch import Tensor


def check_token_ids(ids: Tensor, argument: str, vocab_size: int, max_length: int | None = None) -> None:
    if not isinstance(ids, Tensor):
        raise TypeError(f"{argument} must be a torch.Tensor of token ids, got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{argument} has dtype {ids.dtype}; token ids must be an integer tensor (torch.long)")
    if ids.dim() != 2:
        raise ValueError(f"{argument} has shape {tuple(ids.shape)}; expected (batch, sequence_length)")
    if ids.numel() == 0:
        raise ValueError(f"{argument} is empty (shape {tuple(ids.shape)}); expected at least one token")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        hint = " (-100 marks ignored positions in labels, not in inputs)" if bad == -100 else ""
        raise ValueError(f"{argument} holds token id {bad}, outside the vocabulary [0, {vocab_size}){hint}")
    if max_length is not None and ids.shape[1] > max_length:
        raise ValueError(
            f"{argument} has {ids.shape[1]} tokens but the model holds at most {max_length} positions; "
            "truncate the input (tokenizer(..., truncation=True, max_length=...))"
        )


def check_labels(labels: Tensor, vocab_size: int) -> None:
    if labels.is_floating_point():
        raise TypeError(f"labels has dtype {labels.dtype}; expected integer token ids (-100 to ignore)")
    bad = labels[(labels != -100) & ((labels < 0) | (labels >= vocab_size))]
    if bad.numel():
        raise ValueError(
            f"labels holds token id {int(bad[0])}, outside the vocabulary [0, {vocab_size}) and not -100"
        )
