"""The bf16-screened argmax gives the float32 argmax, including where bf16 alone would pick another token."""

from __future__ import annotations

import math

import pytest
import torch

import warmseq
from tests.conftest import tiny_bert_kwargs
from warmseq.modeling import packed
from warmseq.modeling.products import has_bf16_onednn
from warmseq.modeling.screening import ScreenedArgmax, best_per_row, bf16_at_most

pytestmark = pytest.mark.skipif(not has_bf16_onednn(), reason="no bf16 product in oneDNN here")


def float32_best(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    logits = torch.nn.functional.linear(x.double(), weight.double(), None if bias is None else bias.double())
    return logits.max(dim=-1)


@pytest.mark.parametrize("rows", [1, 5])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("vocab", [500, 512])  # a last block shorter than the others, and none
def test_screened_argmax_is_the_float32_argmax_where_bf16_is_not(rows, with_bias, vocab):
    torch.manual_seed(0)
    hidden = 64
    weight = torch.randn(vocab, hidden)
    # pairs of nearly equal rows: their logits differ by less than bf16's rounding, so bf16 often orders them
    # the other way round
    weight[1::2] = weight[0::2] + 3e-4 * torch.randn(vocab // 2, hidden)
    bias = None
    if with_bias:
        bias = 0.1 * torch.randn(vocab)
        bias[1::2] = bias[0::2]
    screen = ScreenedArgmax(weight, bias, rows)
    flipped = 0
    with torch.inference_mode():
        for _ in range(60):
            x = torch.randn(rows, hidden)
            value, token = screen(x)
            expected_value, expected_token = float32_best(x, weight, bias)
            assert torch.equal(token, expected_token)
            torch.testing.assert_close(value.double(), expected_value, atol=1e-5, rtol=1e-6)
            low = x.bfloat16().float() @ weight.bfloat16().float().t() + (0 if bias is None else bias)
            flipped += int((low.argmax(dim=-1) != expected_token).sum())
    assert flipped > 0  # the case the bound is for did occur


@pytest.mark.parametrize("rows", [1, 2])
def test_the_margin_keeps_a_token_that_bf16_rounding_pushes_down(rows):
    # Inputs and weights chosen so that bf16 rounding moves token 0 down and token 1 up, and terms cancel so
    # that the logits are small beside ||x|| ||w|| (the products' part of the bound, not the output's, counts):
    #   float32: token 0 = 32 (1 + 0.99u)^2 - 32 = 0.2475, token 1 = 32 (1.5u) = 0.1875
    #   bf16:    token 0 = 32 - 32 = 0,                   token 1 = 32 (2u) = 0.25
    quarter, u = 32, 2.0**-8
    x = torch.ones(rows, 4 * quarter)
    x[:, :quarter] = 1 + 0.99 * u  # rounds down to 1 in bf16
    weight = torch.zeros(3, 4 * quarter)
    weight[0, :quarter], weight[0, 2 * quarter : 3 * quarter] = 1 + 0.99 * u, -1.0
    weight[1, quarter : 2 * quarter], weight[1, 3 * quarter :] = 1 + 1.5 * u, -1.0  # rounds up to 1 + 2u
    low = x.bfloat16().float() @ weight.bfloat16().float().t()
    assert low[0].tolist() == [0.0, 0.25, 0.0] and (x @ weight.t())[0].argmax() == 0
    value, token = ScreenedArgmax(weight, torch.zeros(3), rows)(x)
    assert token.tolist() == [0] * rows
    torch.testing.assert_close(value, torch.full((rows,), 32 * (1 + 0.99 * u) ** 2 - 32))


@pytest.mark.parametrize("rows", [1, 2])
def test_the_bias_takes_part_in_the_screen(rows):
    torch.manual_seed(0)
    weight, bias = torch.randn(300, 16), 10 * torch.randn(300)  # logits spread by both, the bias more
    x = torch.randn(rows, 16)
    value, token = ScreenedArgmax(weight, bias, rows)(x)
    expected_value, expected_token = float32_best(x, weight, bias)
    assert torch.equal(token, expected_token)
    assert not torch.equal(token, (x @ weight.t()).argmax(dim=-1))


def test_flat_logits_take_the_whole_float32_product():
    weight = torch.randn(2000, 16)
    screen = ScreenedArgmax(weight, torch.zeros(2000), 1)
    value, token = screen(torch.zeros(1, 16))  # every logit 0: every token a candidate
    assert token.tolist() == [0] and value.tolist() == [0.0]


def test_equal_logits_give_the_lowest_token_in_every_row():
    weight = torch.randn(50, 8)
    weight[30] = weight[7]  # tokens 7 and 30 always tie
    x = weight[7].expand(3, 8).clone()  # each row's best is token 7's logit
    value, token = ScreenedArgmax(weight, None, 3)(x)
    assert token.tolist() == [7, 7, 7]
    values = torch.tensor([1.0, 3.0, 3.0, 2.0, 2.0])
    rows, tokens = torch.tensor([0, 0, 0, 1, 1]), torch.tensor([4, 9, 12, 2, 40])
    best, best_tokens = best_per_row(values, rows, tokens, 2)
    assert best.tolist() == [3.0, 2.0] and best_tokens.tolist() == [9, 2]


@pytest.mark.parametrize("rows", [1, 2])
def test_non_finite_inputs_give_minus_infinity_for_the_finiteness_check(rows):
    weight = torch.randn(100, 8)
    x = torch.randn(rows, 8)
    x[-1, 3] = float("nan")
    value, _ = ScreenedArgmax(weight, torch.randn(100), rows)(x)
    assert value[-1] == float("-inf") and bool(torch.isfinite(value[:-1]).all())


def test_the_one_row_threshold_is_the_largest_bf16_number_not_above_it():
    torch.manual_seed(0)
    values = torch.cat([torch.randn(2000, dtype=torch.float64) * 10.0 ** torch.randint(-6, 6, (2000,)),
                        torch.tensor([0.0, 1.0, -1.0, 3.0, -3.0, 2.0**-120, -(2.0**-120)], dtype=torch.float64)])
    inexact = 0
    for value in values.tolist():
        found = bf16_at_most(value)
        as_bf16 = torch.tensor(found, dtype=torch.float64).to(torch.bfloat16)
        assert float(as_bf16) == found <= value  # a bf16 number, so the comparison rounds nothing
        # the next bf16 number up: one step of the bit pattern (down for negative numbers, sign and magnitude)
        above = (as_bf16.view(torch.int16) + (1 if found >= 0 else -1)).view(torch.bfloat16)
        assert abs(found) <= 2.0**-100 or float(above) > value  # and the largest such
        inexact += found != value
    assert inexact > 1000
    assert bf16_at_most(float("inf")) == float("inf") and math.isnan(bf16_at_most(float("nan")))


def test_greedy_generate_screens_where_it_pays(monkeypatch):
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()),
        warmseq.BertConfig(**tiny_bert_kwargs(), is_decoder=True, add_cross_attention=True))
    model = warmseq.EncoderDecoderModel(config=config).eval()
    ids = torch.randint(5, 90, (2, 7))
    settings = dict(max_new_tokens=6, decoder_start_token_id=1, eos_token_id=None, pad_token_id=0)
    heads = []
    real_best = packed.OutputProjection.best

    def best(self, x):
        heads.append(self)
        return real_best(self, x)

    monkeypatch.setattr(packed, "screening_pays", lambda rows, weight: True)
    monkeypatch.setattr(packed.OutputProjection, "best", best)
    screened = model.generate(ids, **settings)
    assert heads and all(isinstance(head.screen, ScreenedArgmax) for head in heads)
    # asking for the scores needs every logit: the plain step
    plain = model.generate(ids, **settings, output_scores=True, return_dict_in_generate=True)
    assert len(heads) == 6
    assert torch.equal(screened, plain.sequences)
