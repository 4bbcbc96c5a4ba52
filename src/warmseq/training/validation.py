"""Validation: loss per target token, and ROUGE of generated predictions, sharded over ranks."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .accumulation import token_loss_sum
from .batching import pad_batch
from .distributed import RankInfo, sum_across_ranks
from .metrics import RougeSums, rouge_sums
from .records import TextPairs
from .tokenized import TokenizedPairs


@dataclass(frozen=True)
class ValidationSet:
    """Texts and their tokens; `texts` keeps the references ROUGE compares against."""

    texts: TextPairs
    tokens: TokenizedPairs


def length_sorted_chunks(tokens: TokenizedPairs, indices: list[int], batch_size: int) -> list[list[int]]:
    lengths = tokens.source_lengths()[indices]
    ordered = [indices[i] for i in np.argsort(lengths, kind="stable")]
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


@torch.no_grad()
def summed_loss(
    model: Any,
    tokens: TokenizedPairs,
    indices: list[int],
    batch_size: int,
    source_pad_id: int,
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> tuple[float, int]:
    """(sum of per-token losses, number of target tokens) over `indices`."""
    loss_sum, token_count = 0.0, 0
    for chunk in length_sorted_chunks(tokens, indices, batch_size):
        batch = pad_batch(tokens, chunk, source_pad_id).to(device)
        with autocast():
            loss_sum += float(token_loss_sum(model, batch))
        token_count += batch.target_token_count
    return loss_sum, token_count


@torch.no_grad()
def generate_texts(
    model: Any,
    tokens: TokenizedPairs,
    indices: list[int],
    target_tokenizer: Any,
    batch_size: int,
    source_pad_id: int,
    device: torch.device,
    generation: dict[str, Any],
) -> dict[int, str]:
    """Decoded predictions for the sources at `indices`, keyed by index; `generation`: keywords of generate()."""
    predictions: dict[int, str] = {}
    for chunk in length_sorted_chunks(tokens, indices, batch_size):
        batch = pad_batch(tokens, chunk, source_pad_id).to(device)
        generated = model.generate(
            batch.input_ids,
            attention_mask=batch.attention_mask,
            **generation,
        )
        texts = target_tokenizer.batch_decode(generated.tolist(), skip_special_tokens=True)
        predictions.update({index: text.strip() for index, text in zip(chunk, texts, strict=True)})
    return predictions


def validate(
    model: Any,
    data: ValidationSet,
    target_tokenizer: Any,
    batch_size: int,
    source_pad_id: int,
    rank_info: RankInfo,
    device: torch.device,
    num_beams: int,
    max_new_tokens: int,
    num_samples: int,
    autocast: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> dict[str, Any]:
    """Loss and ROUGE-1/2/L (percent) over the validation set, plus a few sample predictions (rank 0's).

    Each rank takes every world_size-th example; sums are added across ranks before dividing.
    """
    was_training = model.training
    model.eval()
    indices = list(range(rank_info.rank, len(data.tokens), rank_info.world_size))
    loss_sum, token_count = summed_loss(model, data.tokens, indices, batch_size, source_pad_id, device, autocast)
    with autocast():
        predictions = generate_texts(
            model,
            data.tokens,
            indices,
            target_tokenizer,
            batch_size,
            source_pad_id,
            device,
            {"num_beams": num_beams, "max_new_tokens": max_new_tokens},
        )
    references = [data.texts.targets[i] for i in indices]
    local_rouge = rouge_sums([predictions[i] for i in indices], references)
    totals = sum_across_ranks([loss_sum, float(token_count), *local_rouge.as_list()], rank_info, device)
    model.train(was_training)
    samples = [
        {"source": data.texts.sources[i], "reference": data.texts.targets[i], "prediction": predictions[i]}
        for i in indices[:num_samples]
    ]
    return {
        "loss": totals[0] / max(totals[1], 1.0),
        **RougeSums.from_list(totals[2:]).means(),
        "examples": int(totals[5]),
        "samples": samples,
    }
