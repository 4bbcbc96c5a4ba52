"""Pairs that cannot work name the class and what it lacks."""

from __future__ import annotations

import pytest

import warmseq
from tests.families.peer_families import FAMILIES, OUR_CONFIGS


def part(name: str, role: str, **fields):
    config = OUR_CONFIGS[name](**FAMILIES[name].kwargs(), **fields)
    return (FAMILIES[name].encoder if role == "encoder" else FAMILIES[name].decoder)(config)


@pytest.mark.parametrize("name, encoder_class", [("roberta", "RobertaModel"), ("electra", "ElectraModel"),
                                                 ("bert-generation", "BertGenerationEncoder")])
def test_encoder_with_an_lm_head_is_refused(name, encoder_class):
    lm = part(name, "decoder", is_decoder=True, add_cross_attention=True)
    decoder = part(name, "decoder", is_decoder=True, add_cross_attention=True)
    message = rf"the encoder is a {type(lm).__name__}, which has an LM head.*{encoder_class}"
    with pytest.raises(ValueError, match=message):
        warmseq.EncoderDecoderModel(encoder=lm, decoder=decoder)


@pytest.mark.parametrize("name", ["roberta", "electra", "bert-generation"])
def test_decoder_without_cross_attention_is_refused(name):
    decoder = part(name, "decoder", is_decoder=True)
    with pytest.raises(ValueError, match=rf"the decoder {type(decoder).__name__} has no cross-attention"):
        warmseq.EncoderDecoderModel(encoder=part(name, "encoder"), decoder=decoder)


@pytest.mark.parametrize("name, decoder_class", [("roberta", "RobertaForCausalLM"), ("electra", "ElectraForCausalLM"),
                                                 ("bert-generation", "BertGenerationDecoder")])
def test_encoder_as_decoder_is_refused(name, decoder_class):
    encoder = part(name, "encoder")
    with pytest.raises(ValueError, match=rf"the decoder is a {type(encoder).__name__}, which has no LM head.*"
                                         rf"{decoder_class}"):
        warmseq.EncoderDecoderModel(encoder=part(name, "encoder"), decoder=encoder)
