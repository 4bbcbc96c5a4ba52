"""The few-row product of `warmseq.modeling.linear` equals `F.linear`, and is the path decoding takes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from warmseq.modeling import linear as linear_module
from warmseq.modeling.linear import Linear, linear


@pytest.mark.parametrize("rows", [1, 3, linear_module.MANY_ROWS, 100])
@pytest.mark.parametrize("has_bias", [True, False])
def test_few_row_product_equals_f_linear(rows, has_bias):
    torch.manual_seed(0)
    weight, x = torch.randn(30, 12), torch.randn(rows, 12)
    bias = torch.randn(30) if has_bias else None
    with torch.inference_mode():
        got = linear(x, weight, bias)
    assert got.is_contiguous()
    torch.testing.assert_close(got, F.linear(x, weight, bias), rtol=1e-6, atol=1e-6)


def test_leading_dims_are_kept():
    weight, bias, x = torch.randn(8, 6), torch.randn(8), torch.randn(2, 3, 6)
    with torch.no_grad():
        got = linear(x, weight, bias)
    assert got.shape == (2, 3, 8) and got.is_contiguous()
    torch.testing.assert_close(got, F.linear(x, weight, bias), rtol=1e-6, atol=1e-6)


def test_paths_by_row_count_without_grad(monkeypatch):
    calls = []
    for name in ("baddbmm", "bmm"):
        real = getattr(torch, name)
        monkeypatch.setattr(linear_module.torch, name, lambda *a, real=real: calls.append(1) or real(*a))
    weight, bias = torch.randn(8, 6), torch.randn(8)
    with torch.no_grad():
        linear(torch.randn(4, 6), weight, bias)
        assert len(calls) == 1
        linear(torch.randn(linear_module.MANY_ROWS, 6), weight, bias)  # many rows: oneDNN or F.linear
        linear(torch.randn(4, 6), torch.randn(7, 6), torch.randn(7))  # 7 outputs do not split in two
        linear(torch.randn(4, 12), torch.randn(6, 12), None)  # input wider than output: oneDNN from 4 rows
        assert len(calls) == 1
    linear(torch.randn(4, 6), weight, bias)  # autograd on: plain product
    assert len(calls) == 1


def test_linear_module_keeps_parameter_names_and_gradients():
    layer = Linear(6, 8)
    assert set(dict(layer.named_parameters())) == {"weight", "bias"}
    layer(torch.randn(2, 6)).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None


def test_autocast_keeps_f_linear():
    weight, x = torch.randn(8, 6), torch.randn(4, 6)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        got = linear(x, weight, None)
    assert got.dtype == torch.bfloat16  # what F.linear gives under autocast


def test_without_onednn_many_rows_take_f_linear(monkeypatch):
    monkeypatch.setattr(linear_module.torch.backends.mkldnn, "is_available", lambda: False)
    linear_module.has_onednn.cache_clear()
    try:
        assert not linear_module.has_onednn()
        calls = []
        monkeypatch.setattr(linear_module.F, "linear", lambda *a: calls.append(1) or a[0] @ a[1].T + a[2])
        weight, bias, x = torch.randn(8, 6), torch.randn(8), torch.randn(linear_module.MANY_ROWS, 6)
        with torch.inference_mode():
            linear(x, weight, bias)
        assert calls == [1]
    finally:
        linear_module.has_onednn.cache_clear()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace is deprecated, still used for ONNX
def test_traced_and_exported_graphs_keep_the_portable_product():
    layer, x = Linear(8, 6).eval(), torch.randn(linear_module.MANY_ROWS, 8)
    with torch.no_grad():
        traced = torch.jit.trace(layer, x)
        exported = torch.export.export(layer, (x,))
    assert "mkldnn" not in str(traced.graph) and "bmm" not in str(traced.graph)
    assert "mkldnn" not in str(exported.graph)
    torch.testing.assert_close(traced(x), F.linear(x, layer.weight, layer.bias))
