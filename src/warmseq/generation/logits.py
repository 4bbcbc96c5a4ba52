"""Logits transforms: small functions `(scores, history) -> scores` applied before a token is chosen.

`scores` is (rows, vocab) float and is changed in place (the search owns it); `history` is (rows, cur_len),
every token so far including the decoder prompt. Each transform touches only the columns it needs: the end
tokens for a minimum length, the seen tokens for a repetition penalty.
The order in `build_transforms` is the peer's, so that equal logits give equal tokens.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import Tensor

from warmseq.generation.config import GenerationConfig, as_id_list

Transform = Callable[[Tensor, Tensor], Tensor]


def penalize_repetition(scores: Tensor, history: Tensor, *, penalty: float) -> Tensor:
    """Make every token already in `history` less likely: divide a positive score, multiply a negative one."""
    seen = torch.gather(scores, 1, history)  # (rows, cur_len)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    return scores.scatter_(1, history, seen)


def block_repeated_ngrams(scores: Tensor, history: Tensor, *, size: int) -> Tensor:
    """Ban each token that would complete an n-gram of `size` tokens already present in `history`."""
    cur_len = history.shape[1]
    if cur_len < size:
        return scores
    # An n-gram is completed by the next token only if its first size-1 tokens equal the current suffix.
    suffix = history[:, cur_len + 1 - size :]  # (rows, size - 1)
    windows = history.unfold(1, size, 1)  # (rows, cur_len - size + 1, size)
    matches = (windows[..., :-1] == suffix[:, None, :]).all(dim=-1)  # (rows, windows)
    rows, starts = matches.nonzero(as_tuple=True)
    scores[rows, windows[rows, starts, -1]] = -math.inf
    return scores


def ban_words(scores: Tensor, history: Tensor, *, single: Tensor, prefixes: list[tuple[Tensor, Tensor]]) -> Tensor:
    """Ban one-token words always, and the last token of a longer word whenever its prefix ends `history`.

    `prefixes` holds, per prefix length p, a pair (prefix ids (words, p), last ids (words,)).
    """
    if single.numel():
        scores[:, single] = -math.inf
    for words, last in prefixes:
        length = words.shape[1]
        if length > history.shape[1]:
            continue
        hits = (history[:, None, -length:] == words).all(dim=-1)  # (rows, words)
        rows, word = hits.nonzero(as_tuple=True)
        scores[rows, last[word]] = -math.inf
    return scores


def suppress_eos(scores: Tensor, history: Tensor, *, min_length: int, eos_ids: Tensor) -> Tensor:
    """Forbid the end tokens while `history` is shorter than `min_length` (prompt included)."""
    if history.shape[1] < min_length:
        scores[:, eos_ids] = -math.inf
    return scores


def force_tokens(scores: Tensor, history: Tensor, *, at_length: int, token_ids: Tensor) -> Tensor:
    """When `history` has `at_length` tokens, leave only `token_ids` possible (score 0, the rest -inf)."""
    if history.shape[1] == at_length:
        scores.fill_(-math.inf)
        scores[:, token_ids] = 0.0
    return scores


def build_transforms(
    config: GenerationConfig, *, prompt_length: int, max_length: int, vocab_size: int, device: torch.device
) -> list[Transform]:
    """The transforms `config` asks for, in the order they run (sampling warpers not included)."""
    transforms: list[Transform] = []
    eos_ids = config.eos_token_ids()
    if config.repetition_penalty != 1.0:
        transforms.append(functools.partial(penalize_repetition, penalty=float(config.repetition_penalty)))
    if config.no_repeat_ngram_size > 0:
        transforms.append(functools.partial(block_repeated_ngrams, size=config.no_repeat_ngram_size))
    if config.bad_words_ids is not None:
        transforms.append(bad_words_transform(config.bad_words_ids, eos_ids, vocab_size, device))
    if eos_ids:
        min_length = config.min_length
        if config.min_new_tokens is not None:
            min_length = prompt_length + config.min_new_tokens
        if min_length > 0:
            eos = torch.tensor(eos_ids, device=device)
            transforms.append(functools.partial(suppress_eos, min_length=min_length, eos_ids=eos))
    if config.forced_bos_token_id is not None:
        bos = torch.tensor([config.forced_bos_token_id], device=device)
        transforms.append(functools.partial(force_tokens, at_length=1, token_ids=bos))
    if config.forced_eos_token_id is not None:
        forced = torch.tensor(as_id_list(config.forced_eos_token_id), device=device)
        transforms.append(functools.partial(force_tokens, at_length=max_length - 1, token_ids=forced))
    return transforms


def bad_words_transform(words: list[list[int]], eos_ids: list[int], vocab_size: int, device: torch.device) -> Transform:
    too_large = sorted({i for word in words for i in word if i >= vocab_size})
    if too_large:
        raise ValueError(f"bad_words_ids holds ids {too_large} outside the vocabulary of {vocab_size} tokens")
    # a word that is just an end token is ignored: banning it would make ending impossible
    words = [w for w in words if not (len(w) == 1 and w[0] in eos_ids)]
    single = torch.tensor(sorted({w[0] for w in words if len(w) == 1}), dtype=torch.long, device=device)
    by_length: dict[int, list[list[int]]] = {}
    for word in words:
        if len(word) > 1:
            by_length.setdefault(len(word) - 1, []).append(word)
    prefixes = [
        (
            torch.tensor([w[:-1] for w in group], device=device),
            torch.tensor([w[-1] for w in group], device=device),
        )
        for group in by_length.values()
    ]
    return functools.partial(ban_words, single=single, prefixes=prefixes)


def apply_transforms(transforms: list[Transform], scores: Tensor, history: Tensor) -> Tensor:
    for transform in transforms:
        scores = transform(scores, history)
    return scores
