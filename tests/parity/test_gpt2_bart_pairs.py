"""Pairs with GPT-2 and BART parts against the peer's EncoderDecoderModel: logits, loss, checkpoints both ways."""

from __future__ import annotations

import pytest
import torch

from tests.parity.tiny_gpt2_bart import (
    BART_VOCAB,
    BERT_VOCAB,
    GPT2_END,
    GPT2_VOCAB,
    assert_clean,
    assert_close,
    bart_config,
    bert_config,
    gpt2_config,
    padded_batch,
    transformers,
)
from warmseq.configs import EncoderDecoderConfig
from warmseq.modeling.encoder_decoder import EncoderDecoderModel


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


def peer_pair(encoder_config, decoder_config, start: int, pad: int):
    torch.manual_seed(0)
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)
    config.decoder_start_token_id, config.pad_token_id = start, pad
    return transformers.EncoderDecoderModel(config=config).eval()


def batch(source_vocab: int, target_vocab: int) -> dict:
    ids, mask = padded_batch(source_vocab, seed=1)
    labels, label_mask = padded_batch(target_vocab, length=6, seed=2)
    return dict(input_ids=ids, attention_mask=mask, labels=labels.masked_fill(label_mask == 0, -100))


def bart_encoder_states(peer, inputs: dict):
    """What warmseq's BART encoder seat computes: the BART encoder stack of the peer's BartModel."""
    states = peer.encoder.encoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    return (states.last_hidden_state,)


PAIRS = {
    # bert2gpt2: hidden 32 -> 24 (enc_to_dec_proj), vocabularies 99 and 87
    "bert2gpt2": (bert_config, gpt2_config, BERT_VOCAB, GPT2_VOCAB, GPT2_END, 0),
    "bert2bart": (bert_config, bart_config, BERT_VOCAB, BART_VOCAB, 2, 1),
    "bart2gpt2": (bart_config, gpt2_config, BART_VOCAB, GPT2_VOCAB, GPT2_END, 0),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_pair_matches_the_peer_both_ways(tmp_path, name):
    encoder_config, decoder_config, source_vocab, target_vocab, start, pad = PAIRS[name]
    peer = peer_pair(encoder_config(), decoder_config(), start, pad)
    inputs = batch(source_vocab, target_vocab)
    bart_encoder = name.startswith("bart")
    peer_inputs = {**inputs, "encoder_outputs": bart_encoder_states(peer, inputs)} if bart_encoder else inputs

    peer.save_pretrained(tmp_path / "peer")
    ours, info = EncoderDecoderModel.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert_clean(info)  # with a BART encoder, the peer's BART decoder half is known and left unread
    assert (ours.enc_to_dec_proj is not None) == hasattr(peer, "enc_to_dec_proj")
    expected, got = peer(**peer_inputs), ours(**inputs)
    assert_close(got.logits, expected.logits)
    assert_close(got.loss, expected.loss, "loss")

    ours.save_pretrained(tmp_path / "ours")
    back, info = transformers.EncoderDecoderModel.from_pretrained(tmp_path / "ours", output_loading_info=True)
    if bart_encoder:  # warmseq keeps no BART decoder half under the encoder: the peer re-creates it
        missing = info["missing_keys"]
        assert missing and all(key.startswith("encoder.decoder.") for key in missing), missing
        assert not info["unexpected_keys"] and not info["mismatched_keys"]
        peer_inputs = {**inputs, "encoder_outputs": bart_encoder_states(back.eval(), inputs)}
    else:
        assert_clean(info)
    assert_close(back.eval()(**peer_inputs).logits, got.logits)


def test_gpt2_decoder_whose_start_token_is_the_pad_token_matches_the_peer():
    """pad == eos == decoder start (GPT-2's usual recipe): the peer masks the start token as padding and
    the first position then sees no key at all; warmseq computes the same (docs/gpt2-special-ids.md)."""
    peer = peer_pair(bert_config(), gpt2_config(), GPT2_END, GPT2_END)
    inputs = batch(BERT_VOCAB, GPT2_VOCAB)
    ours = EncoderDecoderModel(config=EncoderDecoderConfig.from_dict(peer.config.to_dict())).eval()
    report = ours.load_checkpoint_state({k: v.contiguous() for k, v in peer.state_dict().items()}, "peer")
    assert not report.missing_keys and not report.mismatched_keys
    expected, got = peer(**inputs), ours(**inputs)
    assert torch.isfinite(got.logits).all()
    assert_close(got.logits, expected.logits)
    assert_close(got.loss, expected.loss, "loss")
