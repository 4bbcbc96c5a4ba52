"""The TF logits transforms give the PyTorch side's scores on the same inputs (filters checked directly)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import tensorflow as tf
import torch

from warmseq.generation import logits as torch_logits
from warmseq.generation import sampling as torch_sampling
from warmseq.tf import logits as tf_logits

VOCAB, ROWS, LENGTH, CUR = 23, 4, 12, 9


@pytest.fixture
def scores_and_history():
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 2, (ROWS, VOCAB)).astype(np.float32)
    history = rng.integers(0, 6, (ROWS, LENGTH))  # few distinct ids: repeats and n-gram hits happen
    history[:, CUR:] = 22  # past cur_len: must be ignored
    return scores, history


CASES = {
    "repetition": (functools.partial(torch_logits.penalize_repetition, penalty=1.7),
                   functools.partial(tf_logits.penalize_repetition, penalty=1.7)),
    "ngram2": (functools.partial(torch_logits.block_repeated_ngrams, size=2),
               functools.partial(tf_logits.block_repeated_ngrams, size=2)),
    "ngram3": (functools.partial(torch_logits.block_repeated_ngrams, size=3),
               functools.partial(tf_logits.block_repeated_ngrams, size=3)),
    "min_length": (functools.partial(torch_logits.suppress_eos, min_length=10, eos_ids=torch.tensor([2, 7])),
                   functools.partial(tf_logits.suppress_eos, min_length=10, eos_ids=[2, 7])),
    "forced": (functools.partial(torch_logits.force_tokens, at_length=CUR, token_ids=torch.tensor([5])),
               functools.partial(tf_logits.force_tokens, at_length=CUR, token_ids=[5])),
    "top_k": (functools.partial(torch_sampling.keep_top_k, top_k=5),
              functools.partial(tf_logits.keep_top_k, top_k=5)),
    "top_p": (functools.partial(torch_sampling.keep_top_p, top_p=0.8, min_tokens_to_keep=2),
              functools.partial(tf_logits.keep_top_p, top_p=0.8, min_tokens_to_keep=2, candidates=None)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_matches_pytorch(scores_and_history, name):
    scores, history = scores_and_history
    torch_fn, tf_fn = CASES[name]
    expected = torch_fn(torch.from_numpy(scores.copy()), torch.from_numpy(history[:, :CUR])).numpy()
    got = tf_fn(tf.constant(scores), tf.constant(history, tf.int32), tf.constant(CUR)).numpy()
    assert not np.array_equal(expected, scores) or name == "min_length"  # the case does something
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_bad_words_match_pytorch(scores_and_history):
    scores, history = scores_and_history
    words = [[4], [history[0, CUR - 1], 9], [history[1, CUR - 2], history[1, CUR - 1], 11]]
    words = [[int(i) for i in w] for w in words]
    torch_fn = torch_logits.bad_words_transform(words, [2], VOCAB, torch.device("cpu"))
    expected = torch_fn(torch.from_numpy(scores.copy()), torch.from_numpy(history[:, :CUR])).numpy()
    got = tf_logits.ban_words(tf.constant(scores), tf.constant(history, tf.int32), tf.constant(CUR), words=words)
    assert np.isinf(expected[0, 9]) and np.isinf(expected[1, 11])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
