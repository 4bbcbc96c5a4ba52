"""BertGeneration alone against the peer: no token types, no pooler, an LM head without transform."""

from __future__ import annotations

from tests.families.peer_families import check_decoder, check_encoder


def test_encoder_matches_peer(tmp_path):
    check_encoder("bert-generation", tmp_path)


def test_decoder_with_cross_attention_matches_peer(tmp_path):
    check_decoder("bert-generation", tmp_path)


def test_untied_lm_head_matches_peer(tmp_path):
    check_decoder("bert-generation", tmp_path, tie_word_embeddings=False)
