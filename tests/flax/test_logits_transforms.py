"""The JAX logits transforms against the PyTorch side's on the same scores and histories."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from warmseq.generation import logits as torch_logits
from warmseq.generation import sampling as torch_sampling

jax = pytest.importorskip("jax")
jnp = jax.numpy
from warmseq.flax.generation import logits  # noqa: E402

ROWS, VOCAB, LENGTH = 4, 13, 10


def case(cur_len: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(ROWS, VOCAB)).astype(np.float32)
    history = rng.integers(0, 5, (ROWS, LENGTH))  # few ids: repeated n-grams happen
    history[:, cur_len:] = 12  # past the filled part: never read
    return scores, history


def run_jax(transform, scores, history, cur_len, **settings) -> np.ndarray:
    fn = jax.jit(lambda s, h, n: transform(s, h, n, **settings))
    return np.asarray(fn(jnp.asarray(scores), jnp.asarray(history), jnp.asarray(cur_len)))


def run_torch(transform, scores, history, cur_len, **settings) -> np.ndarray:
    return transform(torch.as_tensor(scores).clone(), torch.as_tensor(history[:, :cur_len]), **settings).numpy()


@pytest.mark.parametrize("cur_len", [1, 2, 6, 10])
def test_history_transforms_equal_pytorch(cur_len):
    scores, history = case(cur_len)
    for ours, theirs, settings in [
        (logits.penalize_repetition, torch_logits.penalize_repetition, dict(penalty=1.7)),
        (logits.block_repeated_ngrams, torch_logits.block_repeated_ngrams, dict(size=2)),
        (logits.block_repeated_ngrams, torch_logits.block_repeated_ngrams, dict(size=3)),
    ]:
        expected = run_torch(theirs, scores, history, cur_len, **settings)
        assert np.array_equal(run_jax(ours, scores, history, cur_len, **settings), expected), (ours, cur_len)
    banned = (run_jax(logits.block_repeated_ngrams, scores, history, cur_len, size=2) == -np.inf).sum()
    assert cur_len < 6 or banned > 0  # the case does exercise the ban


def test_bad_words_and_forced_tokens_equal_pytorch():
    words = [[3], [1, 2], [4, 4, 0]]
    ours = logits.bad_words_transform(words, (), VOCAB)
    theirs = torch_logits.bad_words_transform(words, [], VOCAB, torch.device("cpu"))
    for cur_len in (1, 3, 7):
        scores, history = case(cur_len, seed=cur_len)
        history[0, cur_len - 1] = 1
        assert np.array_equal(run_jax(ours, scores, history, cur_len), run_torch(theirs, scores, history, cur_len))
    scores, history = case(4)
    forced = run_jax(logits.force_tokens, scores, history, 4, at_length=4, token_ids=(2, 5))
    assert np.isfinite(forced).sum() == 2 * ROWS and (forced[:, [2, 5]] == 0).all()
    assert np.array_equal(run_jax(logits.force_tokens, scores, history, 3, at_length=4, token_ids=(2,)), scores)


def test_sampling_filters_equal_pytorch():
    scores, history = case(3)
    for ours, theirs, settings in [
        (logits.keep_top_k, torch_sampling.keep_top_k, dict(top_k=4)),
        (logits.keep_top_p, torch_sampling.keep_top_p, dict(top_p=0.7, min_tokens_to_keep=2)),
        (logits.scale_temperature, torch_sampling.scale_temperature, dict(temperature=0.7)),
    ]:
        expected = run_torch(theirs, scores, history, 3, **settings)
        np.testing.assert_allclose(run_jax(ours, scores, history, 3, **settings), expected, rtol=1e-6)
        assert np.isinf(expected).any() or ours is logits.scale_temperature
