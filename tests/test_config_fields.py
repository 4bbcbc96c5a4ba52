"""Config fields that change the numbers but that warmseq does not model are refused or warned about,
naming the field and the supported value; supported values stay silent."""

from __future__ import annotations

import logging

import pytest
import torch
import transformers

import warmseq
from tests.conftest import padded_batch, tiny_bert_kwargs
from tests.parity import tiny_gpt2_bart as tiny


def ours(model_type: str, **changes) -> warmseq.PretrainedConfig:
    """Our config of the tiny GPT-2 or BART decoder the parity tests use, with `changes`."""
    peer = tiny.gpt2_config() if model_type == "gpt2" else tiny.bart_config()
    config_class = warmseq.GPT2Config if model_type == "gpt2" else warmseq.BartConfig
    return config_class.from_dict({**peer.to_dict(), "add_cross_attention": True, **changes})


def test_relative_positions_warn_and_compute_what_the_peer_computes(caplog, tmp_path):
    """transformers 5.24 no longer reads position_embedding_type: both use absolute positions."""
    peer = transformers.BertModel(transformers.BertConfig(**tiny_bert_kwargs())).eval()
    peer.save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        ours = warmseq.BertModel.from_pretrained(tmp_path, position_embedding_type="relative_key_query")
    assert "BertModel: position_embedding_type='relative_key_query' is not supported by warmseq " \
           "(expected 'absolute')" in caplog.text
    ids, mask = padded_batch(99)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, mask).last_hidden_state, peer(input_ids=ids, attention_mask=mask)
                                   .last_hidden_state, atol=1e-5, rtol=0)


def test_a_pair_with_relative_positions_still_builds(caplog):
    encoder = warmseq.BertConfig(**tiny_bert_kwargs(), position_embedding_type="relative_key")
    decoder = warmseq.RobertaConfig(**tiny_bert_kwargs(), position_embedding_type="relative_key_query")
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        warmseq.EncoderDecoderModel(warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder))
    assert "RobertaForCausalLM: position_embedding_type='relative_key_query'" in caplog.text
    assert "BertModel: position_embedding_type='relative_key'" in caplog.text


@pytest.mark.parametrize("field, value", [("scale_attn_by_inverse_layer_idx", True), ("scale_attn_weights", False)])
def test_gpt2_attention_scaling_is_refused(field, value):
    config = ours("gpt2", **{field: value})
    with pytest.raises(ValueError, match=f"GPT2LMHeadModel: {field}={value} is not supported by warmseq"):
        warmseq.GPT2LMHeadModel(config)


@pytest.mark.parametrize("model_type, field, value", [("gpt2", "reorder_and_upcast_attn", True),
                                                      ("bart", "decoder_layerdrop", 0.1)])
def test_fields_that_change_little_are_warned_about(caplog, model_type, field, value):
    config = ours(model_type, **{field: value})
    decoder_class = warmseq.GPT2LMHeadModel if model_type == "gpt2" else warmseq.BartForCausalLM
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        decoder_class(config)
    assert f"{field}={value} is not supported by warmseq" in caplog.text


def test_supported_values_are_silent(caplog):
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        warmseq.BertModel(warmseq.BertConfig(**tiny_bert_kwargs(), position_embedding_type="absolute"))
        warmseq.BartForCausalLM(ours("bart"))
        warmseq.GPT2LMHeadModel(ours("gpt2"))
    assert "not supported" not in caplog.text
