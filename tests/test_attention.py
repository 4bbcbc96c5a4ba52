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


def test_long_sequences_keep_the_fused_kernel_and_decode_steps_do_not(monkeypatch):
    calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(attention.F, "scaled_dot_product_attention", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    x = torch.randn(4, 2, 32, 8)
    attention.attend(x, x, x, None, True, 0.0)  # training or prompt: 32 queries per row
    assert len(calls) == 1
    one = torch.randn(1, 2, 1, 8)
    got = attention.attend(one, x[:1], x[:1], None, False, 0.0)  # batch-1 greedy step
    assert len(calls) == 1
    torch.testing.assert_close(got, real(one, x[:1], x[:1]), atol=1e-6, rtol=0)


@pytest.mark.parametrize("device, rows, queries, dropout_p, fused", [
    ("cuda", 16, 1, 0.0, True),  # a decode step of several rows: by hand on CPU only
    ("cuda", 4, 32, 0.1, True),  # training with dropout: the fused kernel's own dropout on GPU
    ("cpu", 16, 1, 0.0, False),
    ("cpu", 4, 32, 0.1, False),  # the cheaper CPU dropout mask applies to weights formed by hand
    ("cpu", 4, 32, 0.0, True),
    ("cpu", 1, 1, 0.0, False),  # a batch-1 decode step
    ("cpu", 1, 4, 0.0, False),  # one source's 4 beams grouped
    ("cpu", 1, 9, 0.0, True),  # a prompt or a short source
])
def test_the_attention_path_follows_the_device(device, rows, queries, dropout_p, fused):
    assert attention.uses_fused_kernel(device, rows, queries, dropout_p) is fused


def test_off_cpu_training_attention_and_dropout_take_torchs_kernels(monkeypatch):
    """On a device other than the CPU ("meta" stands in for CUDA here), training attention calls the fused
    kernel with its dropout, and Dropout calls torch's; the CPU tricks are not used."""
    from warmseq.modeling import dropout

    calls = []
    monkeypatch.setattr(attention.F, "scaled_dot_product_attention",
                        lambda q, k, v, **kw: calls.append(("sdpa", kw["dropout_p"])) or q)
    monkeypatch.setattr(dropout.F, "dropout", lambda x, p, training: calls.append(("dropout", p)) or x)
    monkeypatch.setattr(dropout, "keep_mask", lambda *a: pytest.fail("the CPU mask was drawn off the CPU"))
    q = torch.empty(4, 2, 32, 8, device="meta")
    attention.attend(q, q, q, None, True, 0.1)
    dropout.dropout(q, 0.1, training=True)
    assert calls == [("sdpa", 0.1), ("dropout", 0.1)]
    assert not dropout.uses_cheap_mask("cuda") and dropout.uses_cheap_mask("cpu")
