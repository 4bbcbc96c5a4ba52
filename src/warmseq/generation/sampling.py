"""Sampling: temperature, top-k and top-p filters on scores, then a seeded multinomial draw.

The filters work in place on (rows, vocab) scores. Top-p sorts only the top-k candidates when a top-k
filter ran before it, instead of the whole vocabulary.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from warmseq.generation.config import GenerationConfig
from warmseq.generation.logits import Transform


def scale_temperature(scores: Tensor, history: Tensor | None = None, *, temperature: float) -> Tensor:
    """Divide scores by `temperature` (> 1 flattens the distribution, < 1 sharpens it)."""
    return scores.div_(temperature)


def keep_top_k(scores: Tensor, history: Tensor | None = None, *, top_k: int) -> Tensor:
    """Set every score below the k-th largest of its row to -inf (ties with the k-th are kept)."""
    top_k = min(top_k, scores.shape[-1])
    kth = torch.topk(scores, top_k, dim=-1).values[:, -1:]  # (rows, 1)
    return scores.masked_fill_(scores < kth, -math.inf)


def keep_top_p(
    scores: Tensor,
    history: Tensor | None = None,
    *,
    top_p: float,
    min_tokens_to_keep: int = 1,
    candidates: int | None = None,
) -> Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches `top_p`; -inf for the rest.

    `candidates`: when the scores outside the top `candidates` of each row are already -inf (a top-k filter
    ran), only those are sorted.
    """
    vocab = scores.shape[-1]
    if candidates is not None and candidates < vocab:
        values, indices = torch.topk(scores, candidates, dim=-1)  # descending
        values, indices = values.flip(-1), indices.flip(-1)  # ascending, as the full sort below
    else:
        values, indices = torch.sort(scores, dim=-1, descending=False)
    cumulative = values.softmax(dim=-1).cumsum(dim=-1)
    # Drop the low tail whose total mass is at most 1 - top_p; always keep the `min_tokens_to_keep` best.
    drop = cumulative <= (1 - top_p)
    drop[:, -min_tokens_to_keep:] = False
    return scores.scatter_(1, indices, values.masked_fill(drop, -math.inf))


def build_sampling_transforms(config: GenerationConfig, *, min_tokens_to_keep: int) -> list[Transform]:
    """Temperature, top-k and top-p in the peer's order (they run after the transforms in logits.py)."""
    transforms: list[Transform] = []
    if config.temperature != 1.0:
        transforms.append(functools.partial(scale_temperature, temperature=float(config.temperature)))
    top_k = None
    if config.top_k:
        top_k = max(config.top_k, min_tokens_to_keep)
        transforms.append(functools.partial(keep_top_k, top_k=top_k))
    if config.top_p < 1.0:
        transforms.append(
            functools.partial(
                keep_top_p, top_p=float(config.top_p), min_tokens_to_keep=min_tokens_to_keep, candidates=top_k
            )
        )
    return transforms


def sample_tokens(scores: Tensor, generator: torch.Generator | None, num_samples: int = 1) -> Tensor:
    """Draw `num_samples` token ids per row from softmax(scores), without replacement: (rows, num_samples)."""
    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, num_samples=num_samples, generator=generator)
