"""Decode steps of several rows compute attention by matrix products; it must equal the fused kernel."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from warmseq.modeling import attention


@pytest.mark.parametrize("batch, queries", [(16, 1), (2, 4), (8, 2)])
@pytest.mark.parametrize("masked", [False, True])
def test_decode_step_attention_equals_the_fused_kernel(batch, queries, masked, monkeypatch):
    torch.manual_seed(0)
    q, k, v = torch.randn(batch, 3, queries, 8), torch.randn(batch, 3, 7, 8), torch.randn(batch, 3, 7, 8)
    mask = None
    if masked:
        mask = torch.ones(batch, 1, 1, 7, dtype=torch.bool)
        mask[0, ..., 4:] = False
    fused = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(attention.F, "scaled_dot_product_attention", lambda *a, **kw: fused.append(1) or real(*a, **kw))
    with torch.inference_mode():
        got = attention.attend(q, k, v, mask, False, 0.0)
    assert not fused, "a decode step of several rows should not call the fused kernel"
    torch.testing.assert_close(got, real(q, k, v, attn_mask=mask), atol=1e-6, rtol=0)


def test_long_sequences_and_single_rows_keep_the_fused_kernel(monkeypatch):
    calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(attention.F, "scaled_dot_product_attention", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    x = torch.randn(4, 2, 32, 8)
    attention.attend(x, x, x, None, True, 0.0)  # training or prompt: 32 queries per row
    one = torch.randn(1, 2, 1, 8)
    attention.attend(one, x[:1], x[:1], None, False, 0.0)  # batch-1 greedy step
    assert len(calls) == 2
