"""Gradient accumulation normalised by the number of target tokens of the whole optimizer step.

Each micro-batch's loss is summed over its target tokens and divided by the token count of all
micro-batches of the step on all ranks. Averaging per-micro-batch means instead would give a
token in a short batch more weight than a token in a long one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import torch

from .batching import TokenBatch


def accumulate_gradients(
    model: torch.nn.Module,
    micro_batches: Sequence[TokenBatch],
    total_target_tokens: int,
    label_smoothing: float = 0.0,
    world_size: int = 1,
    autocast: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    scale_loss: Callable[[torch.Tensor], torch.Tensor] = lambda loss: loss,
) -> torch.Tensor:
    """Backpropagate every micro-batch; return the summed (unnormalised) loss of this rank, detached.

    `total_target_tokens` counts labels != -100 over all micro-batches of the step on all ranks.
    DDP averages gradients over ranks, so each rank's loss is multiplied by `world_size` to turn
    that average back into a sum. A DDP-wrapped model synchronises only on the last micro-batch.
    """
    if total_target_tokens < 1:
        raise ValueError("accumulate_gradients: the step holds no target tokens (all labels are -100)")
    normaliser = world_size / total_target_tokens
    loss_sum = torch.zeros((), dtype=torch.float64)
    for index, batch in enumerate(micro_batches):
        is_last = index == len(micro_batches) - 1
        sync_context = contextlib.nullcontext() if is_last or not hasattr(model, "no_sync") else model.no_sync()
        with sync_context:
            with autocast():
                loss = token_loss_sum(model, batch, label_smoothing)
            scale_loss(loss.float() * normaliser).backward()
        loss_sum += loss.detach().double().cpu()
    return loss_sum


def token_loss_sum(model: torch.nn.Module, batch: TokenBatch, label_smoothing: float = 0.0) -> torch.Tensor:
    """The batch's loss summed over its target tokens; the model skips the logits (its LM head runs
    only where a label counts)."""
    output = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        labels=batch.labels,
        loss_reduction="sum",
        label_smoothing=label_smoothing,
        return_logits=False,
    )
    return output.loss
