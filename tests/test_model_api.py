"""The original's model API around attention: attn_implementation where the original keeps it, and the
base_model_prefix of every encoder and decoder class."""

from __future__ import annotations

import json

import pytest
import torch
import transformers

import warmseq
from tests.conftest import padded_batch, tiny_bert_kwargs
from warmseq.families import FAMILY_BY_TYPE
from warmseq.modeling.block import Block


def bert2bert(**fields) -> warmseq.EncoderDecoderModel:
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs()), **fields)
    return warmseq.EncoderDecoderModel(config).eval()


def implementations(model) -> tuple[str, str, str]:
    return (model.config._attn_implementation, model.encoder.config._attn_implementation,
            model.decoder.config._attn_implementation)


def test_sdpa_by_default_kept_out_of_config_json(tmp_path):
    model = bert2bert()
    assert implementations(model) == ("sdpa", "sdpa", "sdpa")
    assert model.encoder._supports_sdpa and model.decoder._supports_sdpa
    model.save_pretrained(tmp_path)
    text = (tmp_path / "config.json").read_text()
    assert "_attn_implementation" not in json.loads(text)["encoder"]
    assert "attn_implementation" not in text
    assert implementations(warmseq.EncoderDecoderModel.from_pretrained(tmp_path)) == ("sdpa", "sdpa", "sdpa")


@pytest.mark.parametrize("value", ["eager", "sdpa"])
def test_attn_implementation_at_construction_and_loading(tmp_path, value):
    bert2bert().save_pretrained(tmp_path / "pair")
    loaded = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "pair", attn_implementation=value)
    assert implementations(loaded) == (value, value, value)
    assert not hasattr(loaded.config, "attn_implementation")  # not an unknown config field
    built = warmseq.EncoderDecoderModel(loaded.config, attn_implementation=value)
    assert implementations(built) == (value, value, value)
    built.encoder.save_pretrained(tmp_path / "encoder")
    built.decoder.save_pretrained(tmp_path / "decoder")
    warm = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(
        tmp_path / "encoder", tmp_path / "decoder", attn_implementation=value)
    assert implementations(warm) == (value, value, value)
    assert "attn_implementation" not in warm.config.to_json_string()


def test_a_part_keeps_its_own_implementation():
    encoder_config = warmseq.BertConfig(**tiny_bert_kwargs())
    encoder_config._attn_implementation = "eager"
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        encoder_config, warmseq.BertConfig(**tiny_bert_kwargs()))
    assert implementations(warmseq.EncoderDecoderModel(config)) == ("sdpa", "eager", "sdpa")


def test_unsupported_implementation_is_refused(tmp_path):
    bert2bert().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="attn_implementation='flash_attention_2' is not supported.*'eager'"):
        warmseq.EncoderDecoderModel.from_pretrained(tmp_path, attn_implementation="flash_attention_2")


def test_eager_forms_the_weights_explicitly_with_the_same_numbers(monkeypatch):
    model = bert2bert()
    ids, mask = padded_batch(99)
    inputs = dict(input_ids=ids, attention_mask=mask, decoder_input_ids=ids[:, :5],
                  decoder_attention_mask=mask[:, :5])
    with torch.no_grad():
        fused = model(**inputs).logits
    calls = []
    real = Block.forward_with_weights
    monkeypatch.setattr(Block, "forward_with_weights", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    with torch.no_grad():
        model(**inputs)
        assert not calls
        model.config.encoder._attn_implementation = model.config.decoder._attn_implementation = "eager"
        eager = model(**inputs)
    assert len(calls) == 4 and "encoder_attentions" not in eager  # 2 encoder + 2 decoder layers
    torch.testing.assert_close(eager.logits, fused, atol=1e-5, rtol=0)


PEER_CLASSES = {"bert": ("BertModel", "BertLMHeadModel"), "roberta": ("RobertaModel", "RobertaForCausalLM"),
                "electra": ("ElectraModel", "ElectraForCausalLM"), "gpt2": ("GPT2Model", "GPT2LMHeadModel"),
                "bert-generation": ("BertGenerationEncoder", "BertGenerationDecoder"),
                "bart": ("BartModel", "BartForCausalLM")}


@pytest.mark.parametrize("model_type", sorted(PEER_CLASSES))
def test_base_model_prefix_is_the_originals(model_type):
    peer_encoder, peer_decoder = (getattr(transformers, name) for name in PEER_CLASSES[model_type])
    family = FAMILY_BY_TYPE[model_type]
    assert family.encoder_class.base_model_prefix == peer_encoder.base_model_prefix != ""
    assert family.decoder_class.base_model_prefix == peer_decoder.base_model_prefix != ""


def test_a_decoders_base_model_loads_into_an_encoder_as_in_the_original():
    """`decoder._modules[decoder.base_model_prefix]` has the encoder's state-dict names; the decoder's own
    state dict and children are unchanged."""
    model = bert2bert()
    decoder = model.decoder
    body = decoder._modules[decoder.base_model_prefix]
    assert body.stack is decoder.stack and "bert" not in dict(decoder.named_children())
    assert not any(name.startswith("bert.") for name in decoder.state_dict())
    result = model.encoder.load_state_dict(body.state_dict(), strict=False)
    assert result.unexpected_keys and all("cross_attn" in key for key in result.unexpected_keys)
    assert torch.equal(model.encoder.stack.layers[1].ffn.up.weight, decoder.stack.layers[1].ffn.up.weight)
    with pytest.raises(KeyError):
        decoder._modules["roberta"]
