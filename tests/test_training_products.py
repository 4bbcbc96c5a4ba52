"""Training products through oneDNN (`modeling/training_products.py`): F.linear's values and gradients, in a
whole model's training step too, and F.linear itself where the plan says so or the switch is off."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import warmseq
from tests.conftest import padded_batch, padded_labels, tiny_bert_kwargs
from warmseq.modeling import kernel_plan, linear
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan
from warmseq.modeling.products import has_onednn
from warmseq.modeling.training_products import OneDNNLinear, onednn_training_linear

needs_onednn = pytest.mark.skipif(not has_onednn(), reason="oneDNN's product does not run here")


def plan_training_on(path: str) -> KernelPlan:
    return KernelPlan({kind: [["linear"] for _ in ROW_BUCKETS] for kind in kernel_plan.SHAPES}, {},
                      training_path=path)


@needs_onednn
@pytest.mark.parametrize("shape", [(5, 24), (3, 7, 24)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_values_and_gradients_equal_f_linear(shape, with_bias):
    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=True)
    weight = torch.randn(40, 24, requires_grad=True)
    bias = torch.randn(40, requires_grad=True) if with_bias else None
    grad = torch.randn(*shape[:-1], 40)
    leaves = [t for t in (x, weight, bias) if t is not None]
    expected_y = F.linear(x, weight, bias)
    expected = torch.autograd.grad(expected_y, leaves, grad)
    y = onednn_training_linear(x, weight, bias)
    got = torch.autograd.grad(y, leaves, grad)
    torch.testing.assert_close(y, expected_y, rtol=1e-5, atol=1e-5)
    assert len(got) == len(expected) == (3 if with_bias else 2)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_only_the_gradients_asked_for_are_computed():
    x = torch.randn(4, 8)  # a frozen input: no gradient for it
    weight = torch.randn(6, 8, requires_grad=True)
    y = OneDNNLinear.apply(x, weight, None)
    (grad_weight,) = torch.autograd.grad(y.sum(), [weight])
    torch.testing.assert_close(grad_weight, torch.ones(4, 6).t() @ x)


def training_step(model, batch) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    ids, mask, labels = batch
    loss = model(input_ids=ids, attention_mask=mask, labels=labels, loss_reduction="sum", return_logits=False).loss
    loss.backward()
    return float(loss.detach()), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@needs_onednn
def test_a_models_training_step_is_the_same_on_either_path(monkeypatch):
    torch.manual_seed(0)
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs()))
    config.decoder_start_token_id, config.pad_token_id = 1, 0
    model = warmseq.EncoderDecoderModel(config=config).eval()  # dropout off: the same step twice
    ids, mask = padded_batch(99)
    batch = (ids, mask, padded_labels(99))
    calls = []
    real = linear.onednn_training_linear
    monkeypatch.setattr(linear, "onednn_training_linear", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(linear, "current_plan", lambda: plan_training_on("linear"))
    loss_plain, grads_plain = training_step(model, batch)
    assert not calls
    monkeypatch.setattr(linear, "current_plan", lambda: plan_training_on("onednn"))
    loss_onednn, grads_onednn = training_step(model, batch)
    assert len(calls) > 10  # every linear of the encoder, decoder and LM head
    assert loss_onednn == pytest.approx(loss_plain, rel=1e-5)
    assert grads_plain.keys() == grads_onednn.keys() and len(grads_plain) > 50
    for name, grad in grads_plain.items():
        torch.testing.assert_close(grads_onednn[name], grad, rtol=1e-4, atol=1e-5, msg=name)


def test_inference_and_frozen_products_keep_their_paths(monkeypatch):
    monkeypatch.setattr(linear, "current_plan", lambda: plan_training_on("onednn"))
    monkeypatch.setattr(linear, "onednn_training_linear", lambda *a: pytest.fail("not a training product"))
    x, weight = torch.randn(3, 8), torch.randn(5, 8)
    with torch.no_grad():
        linear.linear(x, weight, None)
    linear.linear(x, weight, None)  # nothing requires a gradient
