"""Streaming: tokens one at a time from the search, text pieces that join to the full decoded text."""

from __future__ import annotations

import pytest
import torch
from tiny_peer import EOS, MAX_POSITIONS, PAD, TinyPeer

from warmseq.generation import GenerationConfig, generate_tokens, stream_text, stream_tokens

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

WORDPIECE = {0: "the", 1: "un", 2: "##believ", 3: "##able", 4: ",", 5: "cat", 6: "'", 7: "s", 8: "[SEP]"}


def decode_wordpiece(ids: list[int]) -> str:
    """A WordPiece-style decoder: "##" glues to the previous word, no space before punctuation."""
    text = ""
    for token in (WORDPIECE[i] for i in ids):
        if token == "[SEP]":
            continue
        if token.startswith("##"):
            text += token[2:]
        elif token in {",", "'"} or (text.endswith("'") and token == "s"):
            text += token
        else:
            text += (" " if text else "") + token
    return text


def decode_bytes(ids: list[int]) -> str:
    """A byte-level decoder: each id is one byte; a split character decodes to U+FFFD."""
    return bytes(ids).decode("utf-8", errors="replace")


def test_wordpiece_pieces_join_to_full_text() -> None:
    ids = [0, 1, 2, 3, 4, 0, 5, 6, 7, 8]
    pieces = list(stream_text(iter(ids), decode_wordpiece))
    assert "".join(pieces) == decode_wordpiece(ids) == "the unbelievable, the cat's"
    assert len(pieces) > 1 and all(pieces)


def test_byte_level_pieces_never_split_a_character() -> None:
    ids = list("héllo wörld ✓ done".encode())
    pieces = list(stream_text(iter(ids), decode_bytes))
    assert "".join(pieces) == "héllo wörld ✓ done"
    assert not any("\ufffd" in piece for piece in pieces)


def test_empty_token_stream() -> None:
    assert list(stream_text(iter([]), decode_bytes)) == []


def test_stream_tokens_follow_greedy(peer: TinyPeer) -> None:
    config = GenerationConfig(max_new_tokens=12, eos_token_id=EOS, pad_token_id=PAD, no_repeat_ngram_size=2)
    prompt = peer.prompt()[:1]

    def make_first_source_cache(rows: int, max_new: int):
        cache = peer.make_cache(rows, max_new)
        cache.memory, cache.memory_mask = cache.memory[:1], cache.memory_mask[:1]
        return cache

    streamed = list(stream_tokens(peer.step, make_first_source_cache, prompt, config, max_positions=MAX_POSITIONS))
    whole = generate_tokens(
        peer.step, peer.reorder, make_first_source_cache, prompt, config, max_positions=MAX_POSITIONS
    ).sequences
    assert streamed == whole[0, 1:].tolist()


def test_stream_tokens_is_for_one_sequence(peer: TinyPeer) -> None:
    with pytest.raises(ValueError, match="stream_tokens streams one sequence.*num_beams=2"):
        next(stream_tokens(peer.step, peer.make_cache, torch.ones(1, 1, dtype=torch.long),
                           GenerationConfig(num_beams=2), max_positions=None))  # fmt: skip
