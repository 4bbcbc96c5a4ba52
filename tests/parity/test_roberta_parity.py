"""RoBERTa and XLM-RoBERTa alone against the peer: encoder states, decoder logits, both checkpoint directions."""

from __future__ import annotations

import pytest

from tests.families.peer_families import check_decoder, check_encoder


@pytest.mark.parametrize("name", ["roberta", "xlm-roberta"])
def test_encoder_matches_peer(tmp_path, name):
    check_encoder(name, tmp_path)


@pytest.mark.parametrize("name", ["roberta", "xlm-roberta"])
def test_decoder_with_cross_attention_matches_peer(tmp_path, name):
    check_decoder(name, tmp_path)


def test_untied_lm_head_and_other_activation_match_peer(tmp_path):
    # the LM head keeps gelu whatever hidden_act says; an untied head saves lm_head.decoder.weight
    check_decoder("roberta", tmp_path, tie_word_embeddings=False, hidden_act="relu")
