"""describe_checkpoint: families, sizes, parameter counts, special ids and tying, from files alone."""

from __future__ import annotations

import json

from tests.families.pairs import peer_pair, share_like_original
from warmseq.inspect import describe_checkpoint, render_description


def test_describes_a_shared_pair_written_by_the_peer(tmp_path):
    peer = peer_pair("roberta", "roberta", tie_encoder_decoder=True)
    peer.config.eos_token_id = 2
    peer.save_pretrained(tmp_path)
    info = describe_checkpoint(tmp_path)
    assert info["is_encoder_decoder"] and info["model_type"] == "encoder-decoder"
    encoder, decoder = info["parts"]["encoder"], info["parts"]["decoder"]
    assert (encoder["model_type"], encoder["layers"], encoder["hidden"], encoder["heads"], encoder["vocab"]) == (
        "roberta", 2, 32, 4, 99)
    assert decoder["has_cross_attention"] and not encoder["has_cross_attention"]
    assert info["parameters"] == peer.num_parameters()
    assert encoder["parameters"] + decoder["parameters"] == info["parameters"]
    assert info["special_ids"] == {"decoder_start_token_id": 0, "pad_token_id": 1, "eos_token_id": 2,
                                   "bos_token_id": 0}  # from generation_config.json
    assert info["tied"] == {"tie_word_embeddings": True, "tie_encoder_decoder": True}
    share_like_original(peer)
    assert info["parameters"] - info["parameters_shared"] == peer.num_parameters()
    text = render_description(info)
    assert "encoder (roberta): layers 2, hidden 32, heads 4, vocab 99" in text
    assert "tie_encoder_decoder=True" in text and "once loaded" in text
    json.dumps(info)  # plain data


def test_describes_a_projected_pair_and_a_single_model(tmp_path):
    peer = peer_pair("electra", "bert")
    peer.save_pretrained(tmp_path / "pair")
    info = describe_checkpoint(tmp_path / "pair")
    assert info["parts"]["encoder"]["embedding_size"] == 16
    assert info["parameters"] == peer.num_parameters()
    model = peer.decoder
    model.save_pretrained(tmp_path / "decoder")
    single = describe_checkpoint(tmp_path / "decoder")
    assert not single["is_encoder_decoder"] and list(single["parts"]) == ["model"]
    assert single["parts"]["model"]["model_type"] == "bert"
    assert single["parameters"] == model.num_parameters()
    assert "parameters_shared" not in single
