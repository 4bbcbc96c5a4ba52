"""Compiled generate against warmseq's PyTorch generate on the same weights: greedy and beam tokens for every
family pair, the logits transforms, several returned sequences; seeded sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.flax.pairs import PAIRS, both, padded_batch, source_vocab

jax = pytest.importorskip("jax")


def torch_generate(model, ids: np.ndarray, mask: np.ndarray, **kwargs) -> np.ndarray:
    out = model.generate(torch.as_tensor(ids), attention_mask=torch.as_tensor(mask), **kwargs)
    if kwargs.get("return_dict_in_generate"):
        scores = out.sequences_scores
        return out.sequences.numpy(), None if scores is None else scores.numpy()
    return out.numpy()


@pytest.mark.parametrize("search", [dict(max_new_tokens=8), dict(num_beams=3, max_new_tokens=7)],
                         ids=["greedy", "beam3"])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_tokens_equal_pytorch(tmp_path, name, search):
    model, flax_model = both(name, tmp_path)
    ids, mask = padded_batch(source_vocab(model), PAIRS[name].pad, rows=3, length=10)
    expected = torch_generate(model, ids, mask, **search)
    got = flax_model.generate(ids, attention_mask=mask, **search).sequences
    assert np.array_equal(got, expected), f"flax:\n{got}\npytorch:\n{expected}"


TRANSFORMS = dict(no_repeat_ngram_size=2, repetition_penalty=1.3, min_new_tokens=3, bad_words_ids=[[7], [9, 11]],
                  forced_eos_token_id=5)


@pytest.mark.parametrize("search", [
    dict(max_new_tokens=9, **TRANSFORMS),
    dict(num_beams=4, num_return_sequences=2, length_penalty=2.0, early_stopping="never", max_new_tokens=9,
         **TRANSFORMS),
    dict(num_beams=3, early_stopping=True, length_penalty=0.5, max_new_tokens=9, decoder_input_ids=[[0, 12]] * 3),
], ids=["greedy-transforms", "beam4-never-2-returned", "beam3-early-prompt"])
def test_logits_transforms_and_beam_settings_equal_pytorch(tmp_path, search):
    model, flax_model = both("bert2bert", tmp_path)
    ids, mask = padded_batch(99, 0, rows=3, length=10)
    torch_search = dict(search)
    if "decoder_input_ids" in search:
        torch_search["decoder_input_ids"] = torch.as_tensor(search["decoder_input_ids"])
    expected = torch_generate(model, ids, mask, return_dict_in_generate=True, output_scores=True, **torch_search)
    got = flax_model.generate(ids, attention_mask=mask, **search)
    assert np.array_equal(got.sequences, expected[0]), f"flax:\n{got.sequences}\npytorch:\n{expected[0]}"
    if search.get("num_beams", 1) > 1:
        assert np.abs(got.sequences_scores - expected[1]).max() <= 1e-4


def test_sampling_is_seeded_and_filtered(tmp_path):
    _, flax_model = both("bert2bert", tmp_path)
    ids, mask = padded_batch(99, 0)
    sample = dict(do_sample=True, max_new_tokens=8, top_k=20, top_p=0.9, temperature=1.5)
    first = flax_model.generate(ids, attention_mask=mask, prng_key=jax.random.key(3), **sample).sequences
    again = flax_model.generate(ids, attention_mask=mask, prng_key=jax.random.key(3), **sample).sequences
    other = flax_model.generate(ids, attention_mask=mask, prng_key=jax.random.key(4), **sample).sequences
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    # top_k=1 leaves one candidate per step: sampling is then greedy search
    greedy = flax_model.generate(ids, attention_mask=mask, max_new_tokens=8).sequences
    only_best = flax_model.generate(ids, attention_mask=mask, do_sample=True, top_k=1, max_new_tokens=8,
                                    prng_key=jax.random.key(5)).sequences
    assert np.array_equal(greedy, only_best)
    several = flax_model.generate(ids, attention_mask=mask, do_sample=True, num_return_sequences=2,
                                  max_new_tokens=8, prng_key=jax.random.key(3)).sequences
    assert several.shape[0] == 6


def test_compiled_once_per_shape_and_setting(tmp_path):
    from warmseq.flax.generate import COMPILED

    _, flax_model = both("bert2bert", tmp_path)
    ids, mask = padded_batch(99, 0)
    flax_model.generate(ids, attention_mask=mask, max_new_tokens=6)
    flax_model.generate(ids[:, ::-1].copy(), attention_mask=mask, max_new_tokens=6)
    (search,) = COMPILED[flax_model].values()
    assert search._cache_size() == 1
