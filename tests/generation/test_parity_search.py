"""generate_tokens gives the peer's generate tokens on the same tiny random bert2bert."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from tiny_peer import EOS, EOS_2, MAX_POSITIONS, PAD, TinyPeer

from warmseq.generation import GenerateOutput, GenerationConfig, generate_tokens

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def ours(peer: TinyPeer, generator: torch.Generator | None = None, keep_rows: Any = None,
         **kwargs: Any) -> GenerateOutput:
    config = GenerationConfig(**kwargs)
    return generate_tokens(
        peer.step, peer.reorder, peer.make_cache, peer.prompt(), config,
        max_positions=MAX_POSITIONS, generator=generator, keep_rows=keep_rows,
    )  # fmt: skip


def assert_same_tokens(peer: TinyPeer, keep_rows: Any = None, **kwargs: Any) -> None:
    kwargs.setdefault("eos_token_id", EOS)
    kwargs.setdefault("pad_token_id", PAD)
    expected = peer.peer_generate(**kwargs)
    got = ours(peer, keep_rows=keep_rows, **kwargs).sequences
    assert torch.equal(got, expected), f"{kwargs}\nours:\n{got}\npeer:\n{expected}"


GREEDY_CASES = [
    dict(max_new_tokens=12),
    dict(max_new_tokens=12, eos_token_id=[EOS, EOS_2]),
    dict(max_length=9),
    dict(),  # the default length: 20 new tokens
    dict(max_new_tokens=12, eos_token_id=None, pad_token_id=None),
    dict(max_new_tokens=12, repetition_penalty=1.7),
    dict(max_new_tokens=12, no_repeat_ngram_size=2),
    dict(max_new_tokens=12, no_repeat_ngram_size=1),
    dict(max_new_tokens=12, min_length=8),
    dict(max_new_tokens=12, min_new_tokens=10, eos_token_id=[EOS, EOS_2]),
    dict(max_new_tokens=12, bad_words_ids=[[31], [45, 21], [24, 46, 33], [EOS]]),
    dict(max_new_tokens=8, forced_eos_token_id=EOS_2),
    dict(max_new_tokens=8, forced_bos_token_id=17),
    dict(max_new_tokens=12, pad_token_id=None),
]


@pytest.mark.parametrize("kwargs", GREEDY_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
@pytest.mark.parametrize("drops_rows", [False, True], ids=["all-rows", "drops-ended-rows"])
def test_greedy_matches_peer(peer: TinyPeer, kwargs: dict[str, Any], drops_rows: bool) -> None:
    assert_same_tokens(peer, keep_rows=peer.keep_rows if drops_rows else None, **kwargs)


def generate_recording_rows(peer: TinyPeer, **settings: Any) -> tuple[torch.Tensor, list[list[int]], list[int]]:
    """generate_tokens dropping rows: the sequences, the rows each `keep_rows` kept, and each step's row count."""
    kept: list[list[int]] = []
    step_rows: list[int] = []

    def keep_rows(cache: Any, rows: torch.Tensor) -> Any:
        kept.append(rows.tolist())
        return peer.keep_rows(cache, rows)

    def step(tokens: torch.Tensor, cache: Any) -> Any:
        step_rows.append(tokens.shape[0])
        return peer.step(tokens, cache)

    got = generate_tokens(step, peer.reorder, peer.make_cache, peer.prompt(), GenerationConfig(**settings),
                          max_positions=MAX_POSITIONS, keep_rows=keep_rows).sequences
    return got, kept, step_rows


def test_greedy_drops_ended_rows_from_the_steps(peer: TinyPeer) -> None:
    """Once a quarter of the rows it holds have ended, the cache keeps the others and steps see only them."""
    settings = dict(max_new_tokens=12, eos_token_id=EOS, pad_token_id=PAD)
    got, kept, step_rows = generate_recording_rows(peer, **settings)
    assert torch.equal(got, peer.peer_generate(**settings))
    assert kept and step_rows[0] == 3 and min(step_rows) < 3, (kept, step_rows)
    assert len(step_rows) == got.shape[1] - 1


BEAM_CASES = [
    dict(num_beams=2),
    dict(num_beams=4),
    dict(num_beams=4, eos_token_id=[EOS, EOS_2]),
    dict(num_beams=4, length_penalty=0.5),
    dict(num_beams=4, length_penalty=2.0, early_stopping=True),
    dict(num_beams=4, length_penalty=2.0, early_stopping="never"),
    dict(num_beams=4, length_penalty=0.5, early_stopping="never", num_return_sequences=3),
    dict(num_beams=2, early_stopping=True, num_return_sequences=2),
    dict(num_beams=4, num_return_sequences=4, no_repeat_ngram_size=2),
    dict(num_beams=4, min_length=9, num_return_sequences=2),
    dict(num_beams=4, repetition_penalty=1.5),
    dict(num_beams=4, bad_words_ids=[[7], [31, 7]], num_return_sequences=2),
    dict(num_beams=4, forced_eos_token_id=EOS, max_new_tokens=6, num_return_sequences=4),
    dict(num_beams=3, eos_token_id=None, pad_token_id=None, max_new_tokens=6),
    dict(num_beams=4, pad_token_id=7),
]


@pytest.mark.parametrize("kwargs", BEAM_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_beam_search_matches_peer(peer: TinyPeer, kwargs: dict[str, Any]) -> None:
    kwargs = dict(kwargs)
    kwargs.setdefault("max_new_tokens", 12)
    kwargs.setdefault("eos_token_id", EOS)
    kwargs.setdefault("pad_token_id", PAD)
    expected = peer.peer_generate(**kwargs, return_dict_in_generate=True, output_scores=True)
    got = ours(peer, **kwargs, return_dict_in_generate=True, output_scores=True)
    assert torch.equal(got.sequences, expected.sequences), f"ours:\n{got.sequences}\npeer:\n{expected.sequences}"
    torch.testing.assert_close(got.sequences_scores, expected.sequences_scores, atol=1e-4, rtol=0)
    assert len(got.scores) == len(expected.scores)
    for mine, theirs in zip(got.scores, expected.scores, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-4, rtol=0)


@pytest.mark.parametrize("kwargs", BEAM_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_beam_search_dropping_finished_sources_matches_peer(peer: TinyPeer, kwargs: dict[str, Any]) -> None:
    kwargs = {"max_new_tokens": 12, **kwargs}
    assert_same_tokens(peer, keep_rows=peer.keep_rows, **kwargs)


def test_beam_search_drops_finished_sources_from_the_steps(peer: TinyPeer) -> None:
    """A source whose finished hypotheses can no longer change leaves the steps, its beams all together."""
    settings = dict(num_beams=4, max_new_tokens=12, eos_token_id=EOS, pad_token_id=PAD, length_penalty=0.5)
    got, kept, step_rows = generate_recording_rows(peer, **settings)
    assert torch.equal(got, peer.peer_generate(**settings))
    assert kept and step_rows[0] == 12 and min(step_rows) in (4, 8), (kept, step_rows)
    assert all(len(rows) % 4 == 0 and len({row // 4 for row in rows}) == len(rows) // 4 for rows in kept)


def test_greedy_scores_match_peer(peer: TinyPeer) -> None:
    kwargs = dict(max_new_tokens=10, eos_token_id=EOS, pad_token_id=PAD, min_length=4, repetition_penalty=1.3)
    expected = peer.peer_generate(**kwargs, return_dict_in_generate=True, output_scores=True)
    got = ours(peer, **kwargs, return_dict_in_generate=True, output_scores=True)
    assert torch.equal(got.sequences, expected.sequences)
    assert got.sequences_scores is None
    assert len(got.scores) == len(expected.scores)
    for mine, theirs in zip(got.scores, expected.scores, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)


SAMPLING_CASES = [
    dict(do_sample=True, top_k=0),
    dict(do_sample=True, top_k=10, temperature=0.7),
    dict(do_sample=True, top_k=0, top_p=0.8),
    dict(do_sample=True, top_k=20, top_p=0.9, temperature=1.3, num_return_sequences=2),
    dict(do_sample=True, num_beams=3, top_k=15),
]


@pytest.mark.parametrize("kwargs", SAMPLING_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_sampling_with_global_seed_matches_peer(peer: TinyPeer, kwargs: dict[str, Any]) -> None:
    # Without a generator both draw from torch's global generator, so equal seeds give equal draws.
    kwargs = dict(kwargs, max_new_tokens=10, eos_token_id=EOS, pad_token_id=PAD)
    torch.manual_seed(1234)
    expected = peer.peer_generate(**kwargs)
    torch.manual_seed(1234)
    got = ours(peer, **kwargs).sequences
    assert torch.equal(got, expected), f"ours:\n{got}\npeer:\n{expected}"


def test_sampling_is_seeded_by_generator(peer: TinyPeer) -> None:
    kwargs = dict(do_sample=True, top_k=30, max_new_tokens=10, eos_token_id=EOS, pad_token_id=PAD)
    first = ours(peer, torch.Generator().manual_seed(7), **kwargs).sequences
    torch.manual_seed(0)  # the global generator plays no part
    again = ours(peer, torch.Generator().manual_seed(7), **kwargs).sequences
    other = ours(peer, torch.Generator().manual_seed(8), **kwargs).sequences
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
