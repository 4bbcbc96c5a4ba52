"""Weights packed by oneDNN for a decode step: same products, original model untouched, kept while valid."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from warmseq.modeling import calibration, kernel_plan, packed
from warmseq.modeling import linear as linear_module
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan
from warmseq.modeling.linear import Linear
from warmseq.modeling.packed import (
    OutputProjection,
    PackedLinear,
    PlannedLinear,
    kept_modules,
    packing_pays,
    with_packed_linears,
)
from warmseq.modeling.products import has_onednn

needs_onednn = pytest.mark.skipif(not has_onednn(), reason="no oneDNN packing here")


def plan_with_first(first: str) -> KernelPlan:
    ranking = [first] + [p for p in ("packed", "linear", "halves", "onednn") if p != first]
    return KernelPlan({kind: [list(ranking) for _ in ROW_BUCKETS] for kind in kernel_plan.SHAPES}, {})


@pytest.fixture
def use_plan(monkeypatch):
    def use(first: str) -> None:
        plan = plan_with_first(first)
        monkeypatch.setattr(packed, "current_plan", lambda: plan)
        monkeypatch.setattr(linear_module, "current_plan", lambda: plan)
    return use


@needs_onednn
def test_packed_copy_gives_the_same_outputs_and_shares_the_other_tensors(use_plan):
    use_plan("packed")
    torch.manual_seed(0)
    model = torch.nn.Sequential(Linear(12, 32), torch.nn.LayerNorm(32), Linear(32, 6)).eval()
    x = torch.randn(16, 12)
    with torch.inference_mode():
        clone = with_packed_linears(model, 16)
        assert [type(m) for m in clone] == [PackedLinear, torch.nn.LayerNorm, PackedLinear]
        assert [type(m) for m in model] == [Linear, torch.nn.LayerNorm, Linear]  # the original is untouched
        assert clone[1].weight is model[1].weight and clone[0].bias is not None
        torch.testing.assert_close(clone(x), model(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(clone(x[:3]), model(x[:3]), atol=1e-5, rtol=1e-5)  # other row counts too


@pytest.mark.parametrize("first", ["halves", "onednn"])
def test_where_packing_ranks_second_the_unpacked_path_is_fixed_for_the_call(first, use_plan):
    if first == "onednn" and not has_onednn():
        pytest.skip("no oneDNN here")
    use_plan(first)
    torch.manual_seed(0)
    model = torch.nn.Sequential(Linear(12, 32), Linear(32, 6, bias=False)).eval()
    assert not packing_pays(16, model[0].weight)
    clone = with_packed_linears(model, 16)
    assert [type(m) for m in clone] == [PlannedLinear, PlannedLinear] and clone[0].path == first
    x = torch.randn(16, 12)
    with torch.inference_mode():
        torch.testing.assert_close(clone(x), model(x), atol=1e-5, rtol=1e-5)


def test_where_the_plan_ranks_f_linear_first_the_linears_are_kept(use_plan):
    use_plan("linear")
    model = torch.nn.Sequential(Linear(12, 32)).eval()
    assert type(with_packed_linears(model, 16)[0]) is Linear
    assert packed.step_path(16, model[0].weight) is None


@pytest.mark.parametrize("first", ["packed", "halves", "linear", "onednn"])
@pytest.mark.parametrize("out_features", [32, 31])  # 31: all but the last output by the halves product
@pytest.mark.parametrize("has_bias", [True, False])
def test_output_projection_equals_f_linear(first, out_features, has_bias, use_plan):
    if first in ("packed", "onednn") and not has_onednn():
        pytest.skip("no oneDNN here")
    use_plan(first)
    torch.manual_seed(0)
    weight, x = torch.randn(out_features, 12), torch.randn(5, 12)
    bias = torch.randn(out_features) if has_bias else None
    head = OutputProjection(weight, bias, 5)
    assert (head.packed is not None) == (first == "packed")
    with torch.inference_mode():
        got = head(x)
    assert got.shape == (5, out_features)
    torch.testing.assert_close(got, F.linear(x, weight, bias), rtol=1e-5, atol=1e-5)


def test_packing_needs_float32_on_cpu_and_the_switch_on(use_plan, monkeypatch):
    use_plan("packed")
    assert packing_pays(16, torch.zeros(4, 4)) == has_onednn()
    assert not packing_pays(16, torch.zeros(4, 4, dtype=torch.float64))
    monkeypatch.setattr(packed, "current_plan", calibration.current_plan)
    monkeypatch.setenv(calibration.ENV_SWITCH, "0")
    assert not packing_pays(16, torch.zeros(4, 4))


def test_decode_modules_are_kept_until_rows_or_weights_change():
    model = torch.nn.Sequential(Linear(4, 4))
    built = []

    def build():
        built.append(object())
        return built[-1]

    first = kept_modules(model, 4, build, "float32")
    assert kept_modules(model, 4, build, "float32") is first and len(built) == 1
    kept_modules(model, 8, build, "float32")
    assert len(built) == 2
    kept_modules(model, 8, build, "bf16")
    assert len(built) == 3
    kept_modules(model, 8, build, "float32")  # each compute type keeps its own
    assert len(built) == 3
    with torch.no_grad():
        model[0].weight.add_(1.0)  # training or loading changes the weights in place
    kept_modules(model, 8, build, "bf16")
    assert len(built) == 4
