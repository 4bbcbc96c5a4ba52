"""Sampling filters and logits transforms on hand-made scores, and against the peer's processors."""

from __future__ import annotations

import math

import pytest
import torch

from warmseq.generation.logits import (
    ban_words,
    block_repeated_ngrams,
    force_tokens,
    penalize_repetition,
    suppress_eos,
)
from warmseq.generation.sampling import keep_top_k, keep_top_p, sample_tokens, scale_temperature

transformers = pytest.importorskip("transformers")
INF = math.inf


def test_keep_top_k_keeps_k_largest_and_ties() -> None:
    scores = torch.tensor([[1.0, 3.0, 2.0, 0.5], [4.0, 4.0, 4.0, 1.0]])
    out = keep_top_k(scores.clone(), top_k=2)
    assert out.tolist() == [[-INF, 3.0, 2.0, -INF], [4.0, 4.0, 4.0, -INF]]


def test_keep_top_p_keeps_smallest_set_reaching_p() -> None:
    scores = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    assert torch.isinf(keep_top_p(scores.clone(), top_p=0.8)).tolist() == [[False, False, True, True]]
    assert torch.isinf(keep_top_p(scores.clone(), top_p=0.81)).tolist() == [[False, False, False, True]]
    kept = keep_top_p(scores.clone(), top_p=0.1, min_tokens_to_keep=2)
    assert torch.isinf(kept).tolist() == [[False, False, True, True]]


def test_top_p_after_top_k_sorts_only_candidates_with_same_result() -> None:
    scores = torch.randn(5, 300, generator=torch.Generator().manual_seed(0)) * 3
    filtered = keep_top_k(scores.clone(), top_k=40)
    full = keep_top_p(filtered.clone(), top_p=0.7)
    fast = keep_top_p(filtered.clone(), top_p=0.7, candidates=40)
    assert torch.equal(full, fast)


def test_temperature_divides() -> None:
    scores = torch.tensor([[2.0, -1.0]])
    assert scale_temperature(scores.clone(), temperature=0.5).tolist() == [[4.0, -2.0]]


@pytest.mark.parametrize("top_k,top_p,temperature", [(10, 1.0, 1.0), (0, 0.6, 1.0), (25, 0.9, 0.7), (3, 0.3, 2.0)])
def test_filters_match_peer_warpers(top_k: int, top_p: float, temperature: float) -> None:
    scores = torch.randn(4, 99, generator=torch.Generator().manual_seed(3)) * 2
    expected = scores.clone()
    if temperature != 1.0:
        expected = transformers.TemperatureLogitsWarper(temperature)(None, expected)
    if top_k:
        expected = transformers.TopKLogitsWarper(top_k)(None, expected)
    if top_p < 1.0:
        expected = transformers.TopPLogitsWarper(top_p)(None, expected)
    got = scale_temperature(scores.clone(), temperature=temperature)
    if top_k:
        got = keep_top_k(got, top_k=top_k)
    if top_p < 1.0:
        got = keep_top_p(got, top_p=top_p, candidates=top_k or None)
    assert torch.equal(got, expected)


def test_sampling_never_draws_a_filtered_token() -> None:
    scores = keep_top_k(torch.randn(64, 50, generator=torch.Generator().manual_seed(1)), top_k=3)
    drawn = sample_tokens(scores, torch.Generator().manual_seed(2))
    assert torch.isfinite(scores.gather(1, drawn)).all()


def test_repetition_penalty_divides_positive_and_multiplies_negative() -> None:
    scores = torch.tensor([[2.0, -2.0, 1.0, 5.0]])
    history = torch.tensor([[0, 1, 1]])
    assert penalize_repetition(scores, history, penalty=2.0).tolist() == [[1.0, -4.0, 1.0, 5.0]]


def test_no_repeat_ngram_bans_completing_tokens() -> None:
    history = torch.tensor([[5, 6, 7, 5, 8, 6]])
    out = block_repeated_ngrams(torch.zeros(1, 10), history, size=2)
    assert torch.isinf(out[0]).nonzero().flatten().tolist() == [7]  # 6 was followed by 7
    history = torch.tensor([[5, 6, 7, 5, 8, 5]])
    out = block_repeated_ngrams(torch.zeros(1, 10), history, size=2)
    assert torch.isinf(out[0]).nonzero().flatten().tolist() == [6, 8]  # 5 was followed by 6 and by 8
    out = block_repeated_ngrams(torch.zeros(1, 10), history, size=3)
    assert not torch.isinf(out).any()  # (8, 5) never seen before


@pytest.mark.parametrize("size", [1, 2, 3])
def test_no_repeat_ngram_matches_peer(size: int) -> None:
    history = torch.randint(0, 6, (8, 15), generator=torch.Generator().manual_seed(size))
    scores = torch.randn(8, 6, generator=torch.Generator().manual_seed(9))
    expected = transformers.NoRepeatNGramLogitsProcessor(size)(history, scores.clone())
    assert torch.equal(block_repeated_ngrams(scores.clone(), history, size=size), expected)


def test_bad_words_ban_single_tokens_and_completed_prefixes() -> None:
    history = torch.tensor([[1, 4, 5], [1, 4, 6]])
    prefixes = [(torch.tensor([[4, 5]]), torch.tensor([9]))]
    out = ban_words(torch.zeros(2, 10), history, single=torch.tensor([3]), prefixes=prefixes)
    assert torch.isinf(out).nonzero().tolist() == [[0, 3], [0, 9], [1, 3]]


def test_min_length_touches_only_eos_columns() -> None:
    history = torch.ones(2, 3, dtype=torch.long)
    out = suppress_eos(torch.zeros(2, 6), history, min_length=4, eos_ids=torch.tensor([2, 5]))
    assert torch.isinf(out).nonzero()[:, 1].tolist() == [2, 5, 2, 5]
    assert not torch.isinf(suppress_eos(torch.zeros(2, 6), history, min_length=3, eos_ids=torch.tensor([2]))).any()


def test_forced_token_at_length() -> None:
    out = force_tokens(torch.randn(2, 5), torch.ones(2, 4, dtype=torch.long), at_length=4, token_ids=torch.tensor([3]))
    assert out[:, 3].tolist() == [0.0, 0.0] and torch.isinf(out).sum() == 8
