"""ELECTRA alone against the peer, with embeddings narrower than the blocks (embeddings_project)."""

from __future__ import annotations

import pytest

from tests.families.peer_families import check_decoder, check_encoder


@pytest.mark.parametrize("embedding_size", [16, 32], ids=["projected", "same-width"])
def test_encoder_matches_peer(tmp_path, embedding_size, monkeypatch):
    from tests.families import peer_families

    family = peer_families.FAMILIES["electra"]
    monkeypatch.setitem(peer_families.FAMILIES, "electra",
                        type(family)(**{**family.__dict__, "extra": {"embedding_size": embedding_size}}))
    check_encoder("electra", tmp_path)


def test_decoder_with_cross_attention_matches_peer(tmp_path):
    check_decoder("electra", tmp_path)


def test_untied_generator_head_matches_peer(tmp_path):
    check_decoder("electra", tmp_path, tie_word_embeddings=False, hidden_act="relu")
