"""Every CPU product path equals `F.linear`, and `linear` takes the one the kernel plan ranks first."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from warmseq.modeling import calibration, kernel_plan, products
from warmseq.modeling import linear as linear_module
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan
from warmseq.modeling.linear import Linear, linear
from warmseq.modeling.products import has_onednn, onednn_product, pack_weight, run_path

needs_onednn = pytest.mark.skipif(not has_onednn(), reason="oneDNN's product does not run here")


def fixed_plan(first: str) -> KernelPlan:
    ranking = [first] + [p for p in ("linear", "halves", "onednn") if p != first]
    return KernelPlan({kind: [list(ranking) for _ in ROW_BUCKETS] for kind in kernel_plan.SHAPES}, {})


@pytest.mark.parametrize("rows", [1, 3, 16, 100])
@pytest.mark.parametrize("has_bias", [True, False])
@pytest.mark.parametrize("path", ["linear", "halves", "onednn", "packed"])
def test_every_path_equals_f_linear(path, rows, has_bias):
    if path in ("onednn", "packed") and not has_onednn():
        pytest.skip("oneDNN's product does not run here")
    torch.manual_seed(0)
    weight, x = torch.randn(30, 12), torch.randn(rows, 12)
    bias = torch.randn(30) if has_bias else None
    with torch.inference_mode():
        if path == "packed":
            got = onednn_product(x, pack_weight(weight, rows), bias)
        else:
            got = run_path(path, x, weight, bias)
    assert got.is_contiguous() and got.shape == (rows, 30)
    torch.testing.assert_close(got, F.linear(x, weight, bias), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("path", ["linear", "halves", "onednn"])
def test_leading_dims_are_kept(path, monkeypatch):
    if path == "onednn" and not has_onednn():
        pytest.skip("oneDNN's product does not run here")
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan(path))
    weight, bias, x = torch.randn(8, 6), torch.randn(8), torch.randn(2, 3, 6)
    with torch.no_grad():
        got = linear(x, weight, bias)
    assert got.shape == (2, 3, 8) and got.is_contiguous()
    torch.testing.assert_close(got, F.linear(x, weight, bias), rtol=1e-6, atol=1e-6)


def count_calls(monkeypatch) -> dict[str, int]:
    """Count the products each path runs (wrapped where `run_path` looks them up)."""
    calls = {"linear": 0, "halves": 0, "onednn": 0}
    for name, real in list(products.PRODUCTS.items()):
        monkeypatch.setitem(products.PRODUCTS, name,
                            lambda *a, real=real, name=name: calls.__setitem__(name, calls[name] + 1) or real(*a))
    return calls


@pytest.mark.parametrize("first", ["linear", "halves", "onednn"])
def test_linear_takes_the_plans_first_path(first, monkeypatch):
    if first == "onednn" and not has_onednn():
        pytest.skip("oneDNN's product does not run here")
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan(first))
    calls = count_calls(monkeypatch)
    with torch.no_grad():
        linear(torch.randn(4, 6), torch.randn(8, 6), torch.randn(8))
    assert calls == {p: int(p == first) for p in calls}


def test_halves_skip_an_odd_output_count(monkeypatch):
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan("halves"))
    calls = count_calls(monkeypatch)
    with torch.no_grad():
        linear(torch.randn(4, 6), torch.randn(7, 6), torch.randn(7))
    assert calls["halves"] == 0 and calls["linear"] + calls["onednn"] == 1


def test_autograd_and_autocast_keep_f_linear(monkeypatch):
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan("halves"))
    calls = count_calls(monkeypatch)
    weight, x = torch.randn(8, 6), torch.randn(4, 6)
    linear(x, weight, None)  # autograd on
    assert calls["halves"] == 0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        got = linear(x, weight, None)
    assert got.dtype == torch.bfloat16 and calls["halves"] == 0  # what F.linear gives under autocast


def test_switch_turns_the_cpu_paths_off(monkeypatch):
    monkeypatch.setenv(calibration.ENV_SWITCH, "0")
    monkeypatch.setattr(calibration, "calibrate", lambda *a, **k: pytest.fail("nothing is measured when off"))
    calls = count_calls(monkeypatch)
    with torch.inference_mode():
        for rows in (1, 4, 12, 16, 64):
            linear(torch.randn(rows, 384), torch.randn(1152, 384), None)
    assert calls == {"linear": 5, "halves": 0, "onednn": 0}


def test_linear_module_keeps_parameter_names_and_gradients():
    layer = Linear(6, 8)
    assert set(dict(layer.named_parameters())) == {"weight", "bias"}
    layer(torch.randn(2, 6)).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace is deprecated, still used for ONNX
def test_traced_and_exported_graphs_keep_the_portable_product(monkeypatch):
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan("onednn" if has_onednn() else "halves"))
    layer, x = Linear(8, 6).eval(), torch.randn(16, 8)
    with torch.no_grad():
        traced = torch.jit.trace(layer, x)
        exported = torch.export.export(layer, (x,))
    assert "mkldnn" not in str(traced.graph) and "bmm" not in str(traced.graph)
    assert "mkldnn" not in str(exported.graph)
    torch.testing.assert_close(traced(x), F.linear(x, layer.weight, layer.bias))


ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


@needs_onednn
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_an_activation_fused_into_onednns_product_gives_the_same_values(activation, monkeypatch):
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan("onednn"))
    fused = []
    real = linear_module.onednn_activated_product
    monkeypatch.setattr(linear_module, "onednn_activated_product", lambda *a: fused.append(a[-1]) or real(*a))
    apply = ACTIVATIONS[activation]
    weight, bias, x = torch.randn(48, 16), torch.randn(48), torch.randn(2, 70, 16)
    with torch.inference_mode():
        got = linear_module.activated_linear(x, weight, bias, activation, apply)
    assert fused == [activation]
    torch.testing.assert_close(got, apply(F.linear(x, weight, bias)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("first", ["halves", "linear"])
def test_no_fused_activation_where_the_product_leaves_onednn(first, monkeypatch):
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan(first))
    monkeypatch.setattr(linear_module, "onednn_activated_product", lambda *a: pytest.fail("fused off oneDNN"))
    weight, x = torch.randn(48, 16), torch.randn(5, 16)
    with torch.inference_mode():
        got = linear_module.activated_linear(x, weight, None, "gelu", F.gelu)
    torch.testing.assert_close(got, F.gelu(F.linear(x, weight)), rtol=1e-6, atol=1e-6)


def test_training_and_unknown_activations_apply_the_activation_after(monkeypatch):
    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan("onednn"))
    monkeypatch.setattr(linear_module, "onednn_activated_product", lambda *a: pytest.fail("fused"))
    layer = Linear(16, 48)
    x = torch.randn(5, 16)
    out = layer.forward_activated(x, "gelu", F.gelu)  # autograd records it: the activation stays apart
    out.sum().backward()
    assert layer.weight.grad is not None
    with torch.inference_mode():
        torch.testing.assert_close(layer.forward_activated(x, "silu", F.silu), F.silu(layer(x)))


@needs_onednn
def test_a_feed_forward_in_inference_fuses_its_activation_where_the_plan_takes_onednn(monkeypatch):
    from warmseq.modeling.block import FeedForward

    monkeypatch.setattr(linear_module, "current_plan", lambda: fixed_plan("onednn"))
    fused = []
    real = linear_module.onednn_activated_product
    monkeypatch.setattr(linear_module, "onednn_activated_product", lambda *a: fused.append(a[-1]) or real(*a))
    torch.manual_seed(0)
    ffn = FeedForward(16, 64, "gelu").eval()
    x = torch.randn(3, 40, 16)
    with torch.inference_mode():
        got = ffn(x)
    assert fused == ["gelu"]
    expected = F.linear(F.gelu(F.linear(x, ffn.up.weight, ffn.up.bias)), ffn.down.weight, ffn.down.bias)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
