"""Weights packed by oneDNN for one generate() call: same products, original model untouched."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from warmseq.modeling import linear as linear_module
from warmseq.modeling import packed as packed_module
from warmseq.modeling.linear import MANY_ROWS, Linear
from warmseq.modeling.packed import OutputProjection, PackedLinear, packing_pays, with_packed_linears

needs_onednn = pytest.mark.skipif(not packing_pays(MANY_ROWS, torch.zeros(1)), reason="no oneDNN packing here")


def test_packing_pays_only_for_many_float32_rows_on_cpu():
    assert not packing_pays(MANY_ROWS - 1, torch.zeros(1))
    assert not packing_pays(MANY_ROWS, torch.zeros(1, dtype=torch.float64))


@needs_onednn
def test_packed_copy_gives_the_same_outputs_and_shares_the_other_tensors():
    torch.manual_seed(0)
    model = torch.nn.Sequential(Linear(12, 32), torch.nn.LayerNorm(32), Linear(32, 6)).eval()
    x = torch.randn(MANY_ROWS, 12)
    with torch.inference_mode():
        clone = with_packed_linears(model, MANY_ROWS)
        assert [type(m) for m in clone] == [PackedLinear, torch.nn.LayerNorm, PackedLinear]
        assert [type(m) for m in model] == [Linear, torch.nn.LayerNorm, Linear]  # the original is untouched
        assert clone[1].weight is model[1].weight and clone[0].bias is not None
        torch.testing.assert_close(clone(x), model(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(clone(x[:3]), model(x[:3]), atol=1e-5, rtol=1e-5)  # other row counts too


@pytest.mark.parametrize("rows", [5, MANY_ROWS])
@pytest.mark.parametrize("out_features", [32, 31])  # 31: all but the last output by the halves product
@pytest.mark.parametrize("has_bias", [True, False])
def test_output_projection_equals_f_linear(rows, out_features, has_bias, monkeypatch):
    torch.manual_seed(0)
    weight, x = torch.randn(out_features, 12), torch.randn(rows, 12)
    bias = torch.randn(out_features) if has_bias else None
    head = OutputProjection(weight, bias, rows)
    assert (head.packed is not None) == packing_pays(rows, weight)
    halves = []
    for name in ("bmm", "baddbmm"):
        real = getattr(torch, name)
        monkeypatch.setattr(linear_module.torch, name, lambda *a, real=real: halves.append(1) or real(*a))
    with torch.inference_mode():
        got = head(x)
    assert bool(halves) == (head.packed is None), "below MANY_ROWS, odd vocabularies too take the halves product"
    assert got.shape == (rows, out_features)
    torch.testing.assert_close(got, F.linear(x, weight, bias), rtol=1e-5, atol=1e-5)


def test_no_packing_without_onednn(monkeypatch):
    monkeypatch.setattr(packed_module, "has_onednn", lambda: False)
    assert not packing_pays(MANY_ROWS, torch.zeros(1))
