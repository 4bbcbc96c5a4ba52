"""generate() against the peer's on the same weights: same tokens, same beam scores, cache or not."""

from __future__ import annotations

import pytest
import torch
import transformers

import warmseq
from tests.conftest import padded_batch, tiny_bert_kwargs
from tests.parity.test_bert2bert import peer_pair

EOS = 5
SPECIAL = dict(eos_token_id=EOS, pad_token_id=0, decoder_start_token_id=1)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    peer = peer_pair(tiny_bert_kwargs(), tiny_bert_kwargs())
    with torch.no_grad():  # make the end token likely enough that beams finish at different lengths
        peer.decoder.cls.predictions.bias[EOS] += 1.5
    peer.config.eos_token_id = EOS
    folder = tmp_path_factory.mktemp("pair")
    peer.save_pretrained(folder)
    return peer, warmseq.EncoderDecoderModel.from_pretrained(folder)


CASES = [
    dict(max_new_tokens=15),
    dict(max_length=12, min_length=6),
    dict(max_new_tokens=15, repetition_penalty=1.3, no_repeat_ngram_size=2),
    dict(num_beams=4, max_new_tokens=15),
    dict(num_beams=4, num_return_sequences=3, length_penalty=2.0, early_stopping=True, max_new_tokens=15),
    dict(num_beams=3, length_penalty=0.5, early_stopping=False, no_repeat_ngram_size=3, max_new_tokens=15),
    dict(num_beams=2, early_stopping="never", min_new_tokens=4, max_new_tokens=10),
    dict(num_beams=4, bad_words_ids=[[7], [9, 10]], forced_eos_token_id=EOS, max_new_tokens=10),
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_tokens_match_peer(pair, kwargs):
    peer, ours = pair
    ids, mask = padded_batch(99)
    expected = peer.generate(input_ids=ids, attention_mask=mask, **SPECIAL, **kwargs)
    got = ours.generate(ids, attention_mask=mask, **kwargs)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("batch, kwargs", [(16, dict(max_new_tokens=15)), (5, dict(num_beams=4, max_new_tokens=12))])
def test_tokens_match_peer_with_weights_packed_for_many_rows(pair, batch, kwargs):
    """16 and 20 rows: the decoder steps multiply by weights packed by oneDNN (`modeling/packed.py`)."""
    peer, ours = pair
    torch.manual_seed(1)
    ids, mask = padded_batch(99, batch=batch, length=2 * batch + 4)
    with torch.no_grad():
        expected = peer.generate(input_ids=ids, attention_mask=mask, **SPECIAL, **kwargs)
    assert torch.equal(ours.generate(ids, attention_mask=mask, **SPECIAL, **kwargs), expected)


def test_beam_scores_match_peer(pair):
    peer, ours = pair
    ids, mask = padded_batch(99)
    kwargs = dict(num_beams=4, num_return_sequences=2, max_new_tokens=12, return_dict_in_generate=True,
                  output_scores=True, length_penalty=1.5)
    expected = peer.generate(input_ids=ids, attention_mask=mask, **SPECIAL, **kwargs)
    got = ours.generate(ids, attention_mask=mask, **kwargs)
    assert torch.equal(got.sequences, expected.sequences)
    torch.testing.assert_close(got.sequences_scores, expected.sequences_scores, atol=1e-4, rtol=0)


@pytest.mark.parametrize("batch", [3, 16])  # 16: packed weights in the cached steps
def test_cached_decoding_equals_full_recomputation(pair, batch):
    _, ours = pair
    ids, mask = padded_batch(99, batch=batch, length=2 * batch + 4)
    got = ours.generate(ids, attention_mask=mask, max_new_tokens=15, min_new_tokens=15)
    with torch.no_grad():
        tokens = got[:, :1]
        for _ in range(15):  # greedy by re-running the whole decoder on the whole prefix, no cache
            logits = ours(input_ids=ids, attention_mask=mask, decoder_input_ids=tokens).logits[:, -1]
            logits[:, EOS] = -float("inf")
            tokens = torch.cat([tokens, logits.argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(got, tokens)


def test_minilm_bert2bert_matches_peer(tmp_path, minilm_dir):
    torch.manual_seed(0)
    peer = transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(str(minilm_dir), str(minilm_dir)).eval()
    peer.save_pretrained(tmp_path)
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    ours.config.decoder_start_token_id, ours.config.eos_token_id = 101, 102  # enough for warmseq
    ids = torch.randint(1000, 30000, (16, 32))  # 16 rows: weights packed for the greedy steps
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    ids[1, 20:] = 0
    special = dict(decoder_start_token_id=101, eos_token_id=102, pad_token_id=0)
    for kwargs in (dict(max_new_tokens=16), dict(num_beams=4, max_new_tokens=16, no_repeat_ngram_size=3)):
        expected = peer.generate(input_ids=ids, attention_mask=mask, **special, **kwargs)
        assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs), expected)


def test_setting_the_model_config_is_enough(pair):
    _, ours = pair
    ids, mask = padded_batch(99)
    ours.config.decoder_start_token_id = 3
    try:
        assert ours.generate(ids, attention_mask=mask, max_new_tokens=3)[:, 0].tolist() == [3, 3, 3]
    finally:
        ours.config.decoder_start_token_id = 1


def test_sampling_is_seeded(pair):
    _, ours = pair
    ids, mask = padded_batch(99)
    runs = [ours.generate(ids, attention_mask=mask, do_sample=True, top_p=0.9, top_k=20, temperature=0.8,
                          max_new_tokens=10, generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
