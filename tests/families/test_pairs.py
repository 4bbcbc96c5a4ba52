"""roberta2roberta (shared and not), electra2bert and bertgeneration2bertgeneration against the peer:
logits and loss with padding, checkpoints both ways, parameter counts."""

from __future__ import annotations

import pytest
import torch
import transformers

import warmseq
from tests.conftest import padded_batch, padded_labels
from tests.families.pairs import peer_pair, share_like_original
from tests.families.peer_families import ATOL, FAMILIES, check_cached_decoding, clean

PAIRS = [("roberta", "roberta", False), ("roberta", "roberta", True), ("electra", "bert", False),
         ("bert-generation", "bert-generation", False), ("bert-generation", "bert-generation", True),
         ("xlm-roberta", "xlm-roberta", True)]
IDS = ["roberta2roberta", "roberta2roberta-share", "electra2bert", "bertgen2bertgen", "bertgen2bertgen-share",
       "xlmr2xlmr-share"]


def batch(encoder: str, decoder: str) -> dict:
    ids, mask = padded_batch(99, pad=FAMILIES[encoder].pad)
    decoder_ids, decoder_mask = padded_batch(99, length=7, pad=FAMILIES[decoder].pad)
    return dict(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids,
                decoder_attention_mask=decoder_mask, labels=padded_labels(99, length=7))


@pytest.mark.parametrize("encoder, decoder, share", PAIRS, ids=IDS)
def test_pair_matches_peer_both_ways(tmp_path, encoder, decoder, share):
    peer = peer_pair(encoder, decoder, tie_encoder_decoder=share)
    peer.save_pretrained(tmp_path / "peer")
    ours, info = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert clean(info), info
    inputs = batch(encoder, decoder)
    with torch.no_grad():
        expected = peer(**inputs)
        got = ours(**inputs)
    torch.testing.assert_close(got.logits, expected.logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(got.loss, expected.loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(got.encoder_last_hidden_state, expected.encoder_last_hidden_state, atol=ATOL, rtol=0)

    ours.save_pretrained(tmp_path / "ours")
    back, info = transformers.EncoderDecoderModel.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert clean(info), info
    with torch.no_grad():
        torch.testing.assert_close(back.eval()(**inputs).logits, expected.logits, atol=ATOL, rtol=0)
    again = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "ours")
    assert again.num_parameters() == ours.num_parameters()

    if share:
        share_like_original(peer)
    assert ours.num_parameters() == peer.num_parameters()
    assert (ours.encoder.stack.embeddings.tokens.weight is ours.decoder.stack.embeddings.tokens.weight) == share


@pytest.mark.parametrize("encoder, decoder, share", PAIRS[:4], ids=IDS[:4])
def test_cached_decoding_in_a_pair(tmp_path, encoder, decoder, share):
    peer = peer_pair(encoder, decoder, tie_encoder_decoder=share)
    peer.save_pretrained(tmp_path)
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    inputs = batch(encoder, decoder)
    with torch.no_grad():
        memory = ours.encode(inputs["input_ids"], inputs["attention_mask"])
    tokens = inputs["decoder_input_ids"][:1].repeat(3, 1)
    check_cached_decoding(ours.decoder, tokens, memory, inputs["attention_mask"])
