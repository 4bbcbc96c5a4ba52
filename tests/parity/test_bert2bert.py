"""bert2bert logits and loss against the peer on the same weights (fp32, atol 1e-5)."""

from __future__ import annotations

import pytest
import torch
import transformers

import warmseq
from tests.conftest import padded_batch, padded_labels, tiny_bert_kwargs

ATOL = 1e-5


def peer_pair(encoder_kwargs: dict, decoder_kwargs: dict) -> transformers.EncoderDecoderModel:
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
        transformers.BertConfig(**encoder_kwargs), transformers.BertConfig(**decoder_kwargs)
    )
    model = transformers.EncoderDecoderModel(config=config).eval()
    model.config.decoder_start_token_id = 1
    model.config.pad_token_id = 0
    return model


def assert_same_outputs(peer, ours, vocab: int) -> None:
    ids, mask = padded_batch(vocab)
    labels = padded_labels(vocab)
    with torch.no_grad():
        expected = peer(input_ids=ids, attention_mask=mask, labels=labels)
        got = ours(input_ids=ids, attention_mask=mask, labels=labels)
        fast = ours(input_ids=ids, attention_mask=mask, labels=labels, return_logits=False)
    torch.testing.assert_close(got.logits, expected.logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(got.loss, expected.loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(fast.loss, expected.loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(got.encoder_last_hidden_state, expected.encoder_last_hidden_state, atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "encoder_kwargs, decoder_kwargs",
    [
        (tiny_bert_kwargs(), tiny_bert_kwargs()),
        (tiny_bert_kwargs(hidden_size=48, num_attention_heads=6, intermediate_size=50), tiny_bert_kwargs()),
        (tiny_bert_kwargs(num_hidden_layers=1, vocab_size=120), tiny_bert_kwargs(num_hidden_layers=3)),
    ],
    ids=["same-size", "projection", "different-depth-and-vocab"],
)
def test_random_pairs_match_peer(tmp_path, encoder_kwargs, decoder_kwargs):
    peer = peer_pair(encoder_kwargs, decoder_kwargs)
    peer.save_pretrained(tmp_path)
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    assert (ours.enc_to_dec_proj is not None) == (encoder_kwargs["hidden_size"] != decoder_kwargs["hidden_size"])
    assert_same_outputs(peer, ours, min(encoder_kwargs["vocab_size"], decoder_kwargs["vocab_size"]))


def test_decoder_padding_is_masked_like_peer(tmp_path):
    peer = peer_pair(tiny_bert_kwargs(), tiny_bert_kwargs())
    peer.save_pretrained(tmp_path)
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    ids, mask = padded_batch(99)
    decoder_ids, decoder_mask = padded_batch(99, length=7)
    with torch.no_grad():
        expected = peer(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids,
                        decoder_attention_mask=decoder_mask).logits
        got = ours(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids,
                   decoder_attention_mask=decoder_mask).logits
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


def test_minilm_warm_start_matches_peer(tmp_path, minilm_dir):
    peer = transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(str(minilm_dir), str(minilm_dir)).eval()
    peer.config.decoder_start_token_id = 101
    peer.config.pad_token_id = 0
    peer.save_pretrained(tmp_path)
    ours, info = warmseq.EncoderDecoderModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    ids = torch.randint(1000, 30000, (2, 40))
    mask = torch.ones_like(ids)
    mask[1, 30:] = 0
    labels = torch.randint(1000, 30000, (2, 12))
    labels[1, 9:] = -100
    with torch.no_grad():
        expected = peer(input_ids=ids, attention_mask=mask, labels=labels)
        got = ours(input_ids=ids, attention_mask=mask, labels=labels)
    counts = labels != -100
    torch.testing.assert_close(got.logits[counts], expected.logits[counts], atol=ATOL, rtol=0)
    # rows of padding (queries that are masked out) differ a little more: 12 real layers and a
    # 30,522-wide head, where the peer's own sdpa and eager backends differ by ~7e-6
    torch.testing.assert_close(got.logits, expected.logits, atol=ATOL, rtol=1e-4)
    torch.testing.assert_close(got.loss, expected.loss, atol=ATOL, rtol=0)


def test_standalone_bert_parts_match_peer(tmp_path):
    kwargs = tiny_bert_kwargs()
    encoder = transformers.BertModel(transformers.BertConfig(**kwargs)).eval()
    decoder = transformers.BertLMHeadModel(
        transformers.BertConfig(**kwargs, is_decoder=True, add_cross_attention=True)
    ).eval()
    encoder.save_pretrained(tmp_path / "enc")
    decoder.save_pretrained(tmp_path / "dec")
    ours_encoder = warmseq.BertModel.from_pretrained(tmp_path / "enc")
    ours_decoder = warmseq.BertLMHeadModel.from_pretrained(tmp_path / "dec")
    ids, mask = padded_batch(99)
    memory = torch.randn(3, 5, 32)
    memory_mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] * 4 + [0]])
    with torch.no_grad():
        torch.testing.assert_close(ours_encoder(ids, mask).last_hidden_state,
                                   encoder(input_ids=ids, attention_mask=mask).last_hidden_state, atol=ATOL, rtol=0)
        expected = decoder(input_ids=ids, attention_mask=mask, encoder_hidden_states=memory,
                           encoder_attention_mask=memory_mask, labels=ids)
        got = ours_decoder(ids, mask, memory, memory_mask, labels=ids)
        pooled = encoder(input_ids=ids, attention_mask=mask).pooler_output
        ours_pooled = ours_encoder.pooled(ours_encoder(ids, mask).last_hidden_state)
    torch.testing.assert_close(got.logits, expected.logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(got.loss, expected.loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours_pooled, pooled, atol=ATOL, rtol=0)
