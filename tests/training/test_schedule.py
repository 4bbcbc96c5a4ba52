from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from stand_in_model import StandInSeq2Seq

from warmseq.training.accumulation import accumulate_gradients
from warmseq.training.batching import pad_batch
from warmseq.training.schedule import LearningRateSchedule, build_optimizer, clip_gradients
from warmseq.training.tokenized import TokenizedPairs


def test_warmup_then_linear_and_cosine_decay() -> None:
    linear = LearningRateSchedule(1.0, warmup_steps=4, total_steps=12, kind="linear")
    assert [linear.lr_at(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert linear.lr_at(8) == pytest.approx(0.5) and linear.lr_at(12) == 0.0
    cosine = LearningRateSchedule(1.0, warmup_steps=0, total_steps=10, kind="cosine")
    assert cosine.lr_at(0) == 1.0 and cosine.lr_at(5) == pytest.approx(0.5) and cosine.lr_at(10) == pytest.approx(0.0)
    assert LearningRateSchedule(2.0, 0, 10, "constant").lr_at(9) == 2.0


def test_optimizer_is_fused_adamw_without_decay_on_biases() -> None:
    model = StandInSeq2Seq(vocab_size=20)
    optimizer = build_optimizer(model, lr=1e-3, weight_decay=0.1)
    assert optimizer.defaults["fused"] is True
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert decayed["params"] and plain["params"]
    assert all(p.ndim >= 2 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])


def test_clipping_returns_the_norm_before_clipping() -> None:
    layer = torch.nn.Linear(3, 1, bias=False)
    layer.weight.grad = torch.tensor([[3.0, 4.0, 0.0]])
    assert clip_gradients(layer, max_norm=1.0) == pytest.approx(5.0)
    assert layer.weight.grad.norm().item() == pytest.approx(1.0, rel=1e-5)


def uneven_pairs() -> TokenizedPairs:
    """Micro-batches with very different target lengths, where the normalisation matters."""
    generator = np.random.default_rng(0)
    sources = [generator.integers(5, 30, size=generator.integers(3, 12)) for _ in range(8)]
    label_lengths = [2, 3, 2, 2, 11, 12, 9, 10]
    labels = [generator.integers(5, 30, size=n) for n in label_lengths]
    return TokenizedPairs(sources, labels, 0)


def gradients(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters()]


def fresh_model() -> StandInSeq2Seq:
    torch.manual_seed(0)
    model = StandInSeq2Seq(vocab_size=30)
    model.config.decoder_start_token_id, model.config.pad_token_id = 1, 0
    return model


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_accumulating_k_micro_batches_equals_one_big_batch(label_smoothing: float) -> None:
    pairs = uneven_pairs()
    micro_batches = [pad_batch(pairs, [0, 1, 2, 3], 0), pad_batch(pairs, [4, 5], 0), pad_batch(pairs, [6, 7], 0)]
    total_tokens = sum(b.target_token_count for b in micro_batches)

    accumulated = fresh_model()
    loss_sum = accumulate_gradients(accumulated, micro_batches, total_tokens, label_smoothing)
    big = fresh_model()
    big_batch = pad_batch(pairs, list(range(8)), 0)
    output = big(
        input_ids=big_batch.input_ids,
        attention_mask=big_batch.attention_mask,
        labels=big_batch.labels,
        label_smoothing=label_smoothing,
    )
    output.loss.backward()

    assert float(loss_sum) / total_tokens == pytest.approx(float(output.loss.detach()), rel=1e-6)
    for mine, reference in zip(gradients(accumulated), gradients(big), strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-7)

    # Dividing each micro-batch's mean by the number of micro-batches does not give that gradient.
    averaged_means = fresh_model()
    for batch in micro_batches:
        mean = averaged_means(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            labels=batch.labels,
            label_smoothing=label_smoothing,
        ).loss
        (mean / len(micro_batches)).backward()
    differences = [(a - b).abs().max().item() for a, b in zip(gradients(averaged_means), gradients(big), strict=True)]
    assert max(differences) > 1e-3


def test_a_step_without_target_tokens_is_refused() -> None:
    with pytest.raises(ValueError, match="no target tokens"):
        accumulate_gradients(fresh_model(), [], total_target_tokens=0)


def test_schedule_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="'step' is unknown"):
        LearningRateSchedule(1.0, 0, 10, "step").lr_at(1)
    assert math.isclose(LearningRateSchedule(1.0, 0, 10, "linear").lr_at(0), 1.0)
