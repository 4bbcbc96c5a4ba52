"""Greedy search and multinomial sampling: one token per row per step, rows never reordered.

`iterate_tokens` is a generator that yields each step's new tokens, so the same loop serves whole batches
(`run_to_end`) and streaming. Without logits transforms a greedy step is a single max over the vocabulary,
which also gives the check for non-finite logits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from warmseq.generation.logits import Transform, apply_transforms
from warmseq.generation.row_max import row_max
from warmseq.generation.sampling import sample_tokens

Cache = Any
Step = Callable[[Tensor, Cache], tuple[Tensor, Cache]]
# (tokens, cache) -> ((each row's largest logit (rows,), its token (rows,)), cache): the step of a greedy search
# without logits transforms, which needs no more than that (the model side may find it for less than the logits)
BestStep = Callable[[Tensor, Cache], tuple[tuple[Tensor, Tensor], Cache]]


@dataclass
class DecodeLimits:
    """Where a sequence starts and stops; the driver resolves these from the config."""

    prompt_length: int
    max_length: int  # prompt included
    eos_ids: Tensor | None  # (n_eos,) int64, or None when nothing ends a sequence early
    pad_token_id: int  # written after a row has ended


def check_finite(best: Tensor, step_number: int) -> None:
    """`best` (rows,) is each row's largest raw logit: NaN, +inf or -inf there means unusable logits."""
    if not bool(torch.isfinite(best).all()):
        bad = (~torch.isfinite(best)).nonzero().flatten().tolist()
        raise RuntimeError(
            f"generation step {step_number}: the model returned logits with no usable value "
            "(NaN or infinite) "
            f"for rows {bad}; check the model weights and inputs"
        )


# (cache, kept (n,) int64: indices of rows the cache holds, in their new order) -> a cache of those rows only
KeepRows = Callable[[Cache, Tensor], Cache]


def iterate_tokens(
    step: Step,
    cache: Cache,
    tokens: Tensor,
    limits: DecodeLimits,
    transforms: list[Transform],
    *,
    do_sample: bool,
    generator: torch.Generator | None = None,
    scores_out: list[Tensor] | None = None,
    best_step: BestStep | None = None,
    keep_rows: KeepRows | None = None,
) -> Iterator[Tensor]:
    """Fill `tokens` (rows, max_length), whose first `prompt_length` columns hold the prompt, a column a step.

    Yields each step's new tokens (rows,). Rows that produced an end token get `pad_token_id` afterwards; the
    loop stops when every row has ended or `max_length` is reached. `scores_out` collects processed scores.
    `best_step` replaces `step` where only each row's best token is needed (greedy, no transforms, no scores).
    With `keep_rows`, a greedy search (no sampling, no scores kept) drops ended rows from the cache once a
    quarter of those it holds have ended, so that the steps left work on the unfinished rows only.
    """
    cur_len = limits.prompt_length
    rows = tokens.shape[0]
    unfinished = torch.ones(rows, dtype=torch.bool, device=tokens.device)
    held: Tensor | None = None  # the rows of `tokens` the cache holds, in its order; None: every row
    new_tokens = tokens[:, :cur_len]
    only_best = best_step is not None and not transforms and not do_sample and scores_out is None
    drops_rows = (keep_rows is not None and rows > 1 and limits.eos_ids is not None and not do_sample
                  and scores_out is None)
    while True:
        step_number = cur_len - limits.prompt_length + 1
        if only_best:
            (best, next_tokens), cache = best_step(new_tokens, cache)
            check_finite(best, step_number)
        else:
            logits, cache = step(new_tokens, cache)
            scores = logits.float()
            if not transforms and not do_sample:
                best, next_tokens = row_max(scores)
                check_finite(best, step_number)
            else:
                check_finite(scores.amax(dim=-1), step_number)
                history = tokens[:, :cur_len] if held is None else tokens[held, :cur_len]
                scores = apply_transforms(transforms, scores, history)
                next_tokens = sample_tokens(scores, generator)[:, 0] if do_sample else row_max(scores)[1]
        if scores_out is not None:
            scores_out.append(scores)
        still = unfinished if held is None else unfinished[held]  # (held rows,)
        if limits.eos_ids is not None:
            next_tokens = torch.where(still, next_tokens, limits.pad_token_id)
        if held is None:
            tokens[:, cur_len] = next_tokens
        else:
            tokens[held, cur_len] = next_tokens  # rows no longer held keep their pad
        cur_len += 1
        yield tokens[:, cur_len - 1]
        if limits.eos_ids is not None:
            still = still & ~torch.isin(next_tokens, limits.eos_ids)
            if held is None:
                unfinished = still
            else:
                unfinished[held] = still
            left = int(still.sum())  # one read back serves both the end check and the drop check
            if not left:
                return
        if cur_len >= limits.max_length:
            return
        if drops_rows and 4 * (still.numel() - left) >= still.numel():
            kept = still.nonzero().flatten()
            cache = keep_rows(cache, kept)
            held = kept if held is None else held[kept]
        new_tokens = tokens[:, cur_len - 1 : cur_len] if held is None else tokens[held, cur_len - 1 : cur_len]


def run_to_end(steps: Iterator[Tensor], tokens: Tensor, prompt_length: int) -> Tensor:
    """Exhaust `steps` and return the filled part of `tokens` (rows, prompt_length + steps taken)."""
    taken = sum(1 for _ in steps)
    return tokens[:, : prompt_length + taken]
