"""TF generate gives warmseq's PyTorch generate tokens (greedy and beam), eagerly-traced and under XLA."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import torch

from tests.tf.conftest import batch, max_diff, pair_id, torch_pair
from warmseq.tf import TFEncoderDecoderModel

SEARCHES = {
    "greedy": dict(max_new_tokens=10, repetition_penalty=1.2),
    "beam4": dict(num_beams=4, num_return_sequences=2, max_new_tokens=10, length_penalty=2.0, no_repeat_ngram_size=2,
                  early_stopping=True, min_new_tokens=3),
}
# the other pairs share these parts (bert2bert runs under XLA below)
GENERATE_PAIRS = [("roberta", "roberta"), ("electra", "bert-generation"), ("bert", "gpt2"), ("bart", "bart")]


def both(pair, tmp_path):
    model = torch_pair(*pair)
    model.save_pretrained(tmp_path)
    return model, TFEncoderDecoderModel.from_pretrained(tmp_path)


def assert_same_tokens(model, ours, inputs, jit_compile: bool, **settings) -> None:
    expected = model.generate(torch.from_numpy(inputs["input_ids"]),
                              attention_mask=torch.from_numpy(inputs["attention_mask"]), **settings)
    got = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], jit_compile=jit_compile,
                        **settings)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("pair", GENERATE_PAIRS, ids=pair_id)
def test_greedy_and_beam_match_pytorch(tmp_path, pair):
    model, ours = both(pair, tmp_path)
    inputs = batch(model)
    for name in ("greedy", "beam4"):
        assert_same_tokens(model, ours, inputs, jit_compile=False, **SEARCHES[name])


@pytest.mark.parametrize("search", sorted(SEARCHES))
def test_xla_compiled_search_matches_pytorch(tmp_path, search):
    model, ours = both(("bert", "bert"), tmp_path)
    inputs = batch(model, rows=4)
    assert_same_tokens(model, ours, inputs, jit_compile=True, **SEARCHES[search])


def test_longer_decoder_prompt_and_scores(tmp_path):
    model, ours = both(("bert", "bert"), tmp_path)
    inputs = batch(model)
    prompt = np.array([[3, 17], [3, 40], [3, 41]])
    expected = model.generate(torch.from_numpy(inputs["input_ids"]), attention_mask=torch.from_numpy(
        inputs["attention_mask"]), decoder_input_ids=torch.from_numpy(prompt), num_beams=2, max_new_tokens=6,
        return_dict_in_generate=True, output_scores=True)
    got = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], decoder_input_ids=prompt,
                        num_beams=2, max_new_tokens=6, return_dict_in_generate=True, output_scores=True,
                        jit_compile=False)
    np.testing.assert_array_equal(got.sequences.numpy(), expected.sequences.numpy())
    assert max_diff(got.sequences_scores, expected.sequences_scores) < 1e-4
    assert_same_scores(got.scores, expected.scores)


def assert_same_scores(got, expected) -> None:
    """Step by step, the scores the search chose from; transforms' -inf entries in the same places."""
    assert len(got) == len(expected) > 0
    for ours, peer in zip(got, expected, strict=True):
        ours, peer = ours.numpy(), peer.numpy()
        assert ours.shape == peer.shape
        np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(peer))
        assert np.isfinite(peer).any()
        finite = np.isfinite(peer)
        assert np.abs(ours[finite] - peer[finite]).max() < 1e-4


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("search", sorted(SEARCHES))
def test_output_scores_match_pytorch(tmp_path, search, jit_compile):
    model, ours = both(("bert", "bert"), tmp_path)
    inputs = batch(model)
    settings = dict(SEARCHES[search], return_dict_in_generate=True, output_scores=True)
    expected = model.generate(torch.from_numpy(inputs["input_ids"]),
                              attention_mask=torch.from_numpy(inputs["attention_mask"]), **settings)
    got = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], jit_compile=jit_compile,
                        **settings)
    np.testing.assert_array_equal(got.sequences.numpy(), expected.sequences.numpy())
    assert_same_scores(got.scores, expected.scores)
    without = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], jit_compile=jit_compile,
                            **SEARCHES[search], return_dict_in_generate=True)
    assert without.scores is None


def test_cached_decoding_equals_whole_sequence(tmp_path):
    """One token at a time through the fixed-size cache gives the logits of the whole sequence at once."""
    model, ours = both(("bert", "gpt2"), tmp_path)
    inputs = batch(model)
    tokens = np.array([[86, 5, 9, 33, 7], [86, 12, 12, 3, 60], [86, 1, 2, 3, 4]])
    memory = ours.encode(inputs["input_ids"], inputs["attention_mask"])
    whole = ours(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], decoder_input_ids=tokens)
    cache = ours.decoder.new_cache(3, tokens.shape[1], memory, inputs["attention_mask"])
    steps = []
    for t in range(tokens.shape[1]):
        logits, cache = ours.decoder.decode_logits(tf.constant(tokens[:, t : t + 1], tf.int32), tf.constant(t), cache)
        steps.append(logits)
    assert max_diff(tf.stack(steps, axis=1), whole.logits) < 1e-5


def test_cross_attention_keys_once_per_source(tmp_path):
    _, ours = both(("bert", "bert"), tmp_path)
    memory = tf.random.normal((2, 7, 32))
    cache = ours.decoder.new_cache(2 * 4, 10, memory, tf.ones((2, 7), tf.int32))  # 4 beams per source
    keys, values = cache.memory_kv[0]
    assert keys.shape == (2, 7, 4, 8) and values.shape == (2, 7, 4, 8)  # (sources, src_len, heads, head_dim)
    assert cache.keys[0].shape == (10, 8, 4, 8)  # (capacity, rows, heads, head_dim)


def test_sampling_is_seeded(tmp_path):
    model, ours = both(("bert", "bert"), tmp_path)
    inputs = batch(model)
    settings = dict(do_sample=True, top_k=20, top_p=0.9, temperature=1.5, max_new_tokens=12, jit_compile=False)
    first = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], seed=7, **settings)
    again = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], seed=7, **settings)
    other = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], seed=8, **settings)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.array_equal(first.numpy(), other.numpy())
    # top_k=1 leaves one candidate: sampling is greedy search
    greedy = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=12,
                           jit_compile=False)
    top1 = ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], do_sample=True, top_k=1,
                         max_new_tokens=12, seed=3, jit_compile=False)
    np.testing.assert_array_equal(top1.numpy(), greedy.numpy())
