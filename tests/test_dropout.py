"""The cheaper CPU dropout: the right keep rate, the right scale, and attention that equals the fused kernel."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from warmseq.modeling.attention import attend, causal_mask
from warmseq.modeling.dropout import dropout, keep_mask


def test_keep_rate_and_scale():
    torch.manual_seed(0)
    mask = keep_mask(torch.Size([1000, 1000]), 0.1, torch.device("cpu"))
    assert abs(mask.float().mean().item() - 0.9) < 2e-3
    x = torch.ones(1000, 1000)
    y = dropout(x, 0.1, training=True)
    values = torch.unique(y)
    assert len(values) == 2 and values[0] == 0.0
    torch.testing.assert_close(values[1], torch.tensor(1.0 / 0.9))
    assert dropout(x, 0.1, training=False) is x


def test_masks_differ_between_calls_and_follow_the_seed():
    torch.manual_seed(1)
    first, second = (keep_mask(torch.Size([64, 64]), 0.5, torch.device("cpu")) for _ in range(2))
    assert not torch.equal(first, second)
    torch.manual_seed(1)
    assert torch.equal(keep_mask(torch.Size([64, 64]), 0.5, torch.device("cpu")), first)


def test_manual_attention_equals_the_fused_kernel():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8) for _ in range(3))
    padding = torch.tensor([[True] * 5, [True, True, True, False, False]])[:, None, None, :]
    mask = padding & causal_mask(5, 5, q.device)
    mask[1, :, 0, :] = False  # a query that sees no key at all
    for m, causal in ((mask, False), (None, True), (None, False)):
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal)
        got = attend(q, k, v, m, causal, dropout_p=1e-12)  # takes the dropout path, drops nothing
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
