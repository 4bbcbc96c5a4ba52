"""A decode step's cross-attention as weighted row sums: the same outputs as attention by products."""

from __future__ import annotations

import pytest
import torch

import warmseq
from tests.conftest import padded_batch, tiny_bert_kwargs
from warmseq.modeling import stack
from warmseq.modeling.attention import attend_with_weights
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan
from warmseq.modeling.memory_bags import MemoryBags, attend_bags, keys_laid_out_transposed


@pytest.mark.parametrize("queries", [1, 4])
@pytest.mark.parametrize("masked", [False, True])
def test_bags_give_the_products_attention(queries, masked):
    sources, heads, src_len, head_dim = 3, 4, 11, 8
    q = torch.randn(sources, heads, queries, head_dim)
    keys, values = torch.randn(2, sources, heads, src_len, head_dim)
    mask = None
    if masked:
        visible = torch.ones(sources, src_len, dtype=torch.bool)
        visible[1, 6:] = False
        visible[2] = False  # a source with no visible key: zero output, as the fused kernel gives
        mask = visible[:, None, None, :]
    bags = MemoryBags.build(sources, heads, queries, src_len, head_dim, q.device)
    got = attend_bags(q, keys_laid_out_transposed(keys), values, mask, bags)
    expected, _ = attend_with_weights(q, keys, values, mask, False, 0.0)
    assert got.shape == (sources, heads, queries, head_dim)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-6)
    if masked:
        assert not got[2].any() and got[1].abs().sum() > 0


def test_keys_laid_out_for_bags_keep_their_shape_and_values():
    keys = torch.randn(2, 3, 5, 4)
    laid_out = keys_laid_out_transposed(keys)
    assert laid_out.shape == keys.shape and torch.equal(laid_out, keys)
    assert laid_out.transpose(-2, -1).is_contiguous()


def plan_with_bags(pays: bool) -> KernelPlan:
    plan = KernelPlan.plain()
    plan.bags = [pays] * len(ROW_BUCKETS)
    return plan


@pytest.mark.parametrize("kwargs", [dict(), dict(num_beams=3, length_penalty=2.0)])
def test_generate_gives_the_same_scores_with_and_without_bags(kwargs, monkeypatch):
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()),
        warmseq.BertConfig(**tiny_bert_kwargs(), is_decoder=True, add_cross_attention=True))
    model = warmseq.EncoderDecoderModel(config=config).eval()
    ids, mask = padded_batch(99, batch=3, length=9)
    settings = dict(max_new_tokens=8, decoder_start_token_id=1, eos_token_id=None, pad_token_id=0,
                    output_scores=True, return_dict_in_generate=True, **kwargs)
    calls = []  # a call's cache with row sums (whichever step reads it: `Block.step` or `flat_step`)
    real = MemoryBags.build
    monkeypatch.setattr(MemoryBags, "build", staticmethod(lambda *args: calls.append(1) or real(*args)))
    runs = {}
    for pays in (False, True):
        monkeypatch.setattr(stack, "current_plan", lambda pays=pays: plan_with_bags(pays))
        calls.clear()
        runs[pays] = model.generate(ids, attention_mask=mask, **settings)
        assert bool(calls) == pays  # the path under test is the one taken
    assert torch.equal(runs[True].sequences, runs[False].sequences)
    assert len(runs[True].scores) == len(runs[False].scores) == 8
    for with_bags, without in zip(runs[True].scores, runs[False].scores, strict=True):
        torch.testing.assert_close(with_bags, without, atol=1e-5, rtol=1e-5)
