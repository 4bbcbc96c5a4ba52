"""The static-shape decode step (`cache_implementation="static"`, the default on CUDA): the peer's tokens,
eager and compiled, one compiled graph for every step, and its cache reused across calls of one shape."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import padded_batch
from tests.parity.test_generate import CASES, SPECIAL, pair  # noqa: F401  (pair is a fixture)
from warmseq.modeling import static_step
from warmseq.modeling.static_step import STATIC_CACHES, uses_static_step


@pytest.mark.parametrize("kwargs", CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_eager_static_step_gives_the_peers_tokens(pair, kwargs):  # noqa: F811
    peer, ours = pair
    ids, mask = padded_batch(99)
    expected = peer.generate(input_ids=ids, attention_mask=mask, **SPECIAL, **kwargs)
    got = ours.generate(ids, attention_mask=mask, cache_implementation="static", disable_compile=True, **kwargs)
    assert torch.equal(got, expected)


def test_a_prompt_of_several_tokens_goes_in_one_token_a_step(pair):  # noqa: F811
    peer, ours = pair
    ids, mask = padded_batch(99)
    prompt = torch.tensor([[1, 7, 8]] * 3)
    expected = peer.generate(input_ids=ids, attention_mask=mask, decoder_input_ids=prompt, max_new_tokens=8,
                             **SPECIAL)
    got = ours.generate(ids, attention_mask=mask, decoder_input_ids=prompt, max_new_tokens=8,
                        cache_implementation="static", disable_compile=True)
    assert torch.equal(got, expected)


@pytest.mark.slow
def test_compiled_step_equals_the_eager_step_token_for_token(pair):  # noqa: F811
    """torch.compile (inductor, on CPU here) of the static step: the eager step's tokens for greedy and beam
    search, and one compilation serves every step of a call and later calls of the same shape."""
    torch._dynamo.reset()
    static_step._COMPILED.clear()
    _, ours = pair
    ids, mask = padded_batch(99, batch=4, length=10)
    counts = []
    for kwargs in (dict(min_new_tokens=8, max_new_tokens=12),
                   dict(num_beams=3, min_new_tokens=6, max_new_tokens=10, length_penalty=2.0)):
        eager = ours.generate(ids, attention_mask=mask, cache_implementation="static", disable_compile=True,
                              **kwargs)
        compiled = ours.generate(ids, attention_mask=mask, cache_implementation="static", **kwargs)
        assert eager.shape[1] > 5 and torch.equal(compiled, eager)
        again = ours.generate(ids, attention_mask=mask, cache_implementation="static", **kwargs)
        assert torch.equal(again, eager)
        counts.append(torch._dynamo.utils.counters["stats"]["unique_graphs"])
    # one graph per row count (4 rows greedy, 12 rows in beam search): not one per step or per call
    assert counts == [1, 2]


def test_static_cache_is_reused_for_a_call_of_the_same_shape(pair):  # noqa: F811
    _, ours = pair
    ids, mask = padded_batch(99)
    first = ours.generate(ids, attention_mask=mask, max_new_tokens=6, cache_implementation="static",
                          disable_compile=True)
    kept = STATIC_CACHES._kept[ours.decoder][1]
    other = ids.flip(0)
    ours.generate(other, attention_mask=mask.flip(0), max_new_tokens=6, cache_implementation="static",
                  disable_compile=True)
    again = ours.generate(ids, attention_mask=mask, max_new_tokens=6, cache_implementation="static",
                          disable_compile=True)
    assert STATIC_CACHES._kept[ours.decoder][1] is kept  # same buffers, reset between calls
    assert torch.equal(again, first)


def test_static_step_is_the_default_on_cuda_only():
    assert uses_static_step(None, torch.device("cuda"))
    assert not uses_static_step(None, torch.device("cpu"))
    assert uses_static_step("static", torch.device("cpu"))
    assert not uses_static_step("dynamic", torch.device("cuda"))


def test_static_step_refuses_what_it_cannot_do(pair):  # noqa: F811
    _, ours = pair
    ids, mask = padded_batch(99)
    with pytest.raises(ValueError, match="cache_implementation='static'.*compute_type='int8'"):
        ours.generate(ids, attention_mask=mask, cache_implementation="static", compute_type="int8")
    with pytest.raises(ValueError, match="cache_implementation must be one of"):
        ours.generate(ids, attention_mask=mask, cache_implementation="sliding")
