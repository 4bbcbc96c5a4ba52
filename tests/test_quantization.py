"""compute_type: bf16 and int8 products close to float32, the model untouched, bad names refused."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import warmseq
from tests.conftest import padded_batch, tiny_bert_kwargs
from warmseq.modeling import quantization
from warmseq.modeling.generate import CachedDecoder
from warmseq.modeling.quantization import BF16Linear, Int8Linear, check_compute_type


@pytest.mark.parametrize("rows", [1, 5, 16])
@pytest.mark.parametrize("has_bias", [True, False])
def test_bf16_product_equals_f_linear_on_bf16_values(rows, has_bias):
    weight, x = torch.randn(40, 24), torch.randn(rows, 24)
    bias = torch.randn(40) if has_bias else None
    with torch.inference_mode():
        got = BF16Linear(weight, bias, rows)(x)
    expected = F.linear(x.bfloat16().float(), weight.bfloat16().float(), bias)
    assert got.dtype == torch.float32 and got.shape == (rows, 40)
    torch.testing.assert_close(got, expected, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("rows", [1, 16])
@pytest.mark.parametrize("has_bias", [True, False])
def test_int8_product_is_close_to_f_linear(rows, has_bias):
    weight, x = torch.randn(64, 48), torch.randn(rows, 48)
    bias = torch.randn(64) if has_bias else None
    with torch.inference_mode():
        got = Int8Linear(weight, bias)(x)
    expected = F.linear(x, weight, bias)
    assert got.dtype == torch.float32 and got.shape == (rows, 64)
    error = (got - expected).norm() / expected.norm()
    assert 0 < error < 0.03  # int8 rounding: not exact, not far


def test_compute_type_names():
    assert check_compute_type("INT8") == "int8" and check_compute_type("bfloat16") == "bf16"
    with pytest.raises(ValueError, match=r"compute_type='int4' is not a compute type; expected one of float32"):
        check_compute_type("int4")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs(), is_decoder=True,
                                                                      add_cross_attention=True))
    pair = warmseq.EncoderDecoderModel(config=config).eval()
    pair.config.decoder_start_token_id, pair.config.pad_token_id = 1, 0
    folder = tmp_path_factory.mktemp("pair")
    pair.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("compute_type", ["bf16", "int8"])
@pytest.mark.parametrize("kwargs", [dict(), dict(num_beams=3)])
def test_generate_in_low_precision_leaves_the_model_untouched(model, compute_type, kwargs):
    ours = warmseq.EncoderDecoderModel.from_pretrained(model)
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    ids, mask = padded_batch(99)
    exact = ours.generate(ids, attention_mask=mask, max_new_tokens=8, **kwargs)
    low = ours.generate(ids, attention_mask=mask, max_new_tokens=8, compute_type=compute_type, **kwargs)
    assert low.shape[0] == exact.shape[0] and int(low.max()) < 99
    assert (low[:, :3] == exact[:, :3]).float().mean() >= 0.5  # the first tokens mostly agree
    assert all(torch.equal(v, before[k]) for k, v in ours.state_dict().items())
    assert torch.equal(ours.generate(ids, attention_mask=mask, max_new_tokens=8, **kwargs), exact)


def test_from_pretrained_sets_the_default_compute_type(model, monkeypatch):
    ours = warmseq.EncoderDecoderModel.from_pretrained(model, compute_type="int8")
    asked = []
    real = quantization.decode_modules_for
    monkeypatch.setattr("warmseq.modeling.generate.decode_modules_for",
                        lambda d, rows, kind: asked.append(kind) or real(d, rows, kind))
    ids, mask = padded_batch(99)
    ours.generate(ids, attention_mask=mask, max_new_tokens=3)
    ours.generate(ids, attention_mask=mask, max_new_tokens=3, compute_type="float32")
    assert asked == ["int8", "float32"]
    with pytest.raises(ValueError, match=r"from_pretrained\(compute_type\)='fp8'"):
        warmseq.EncoderDecoderModel.from_pretrained(model, compute_type="fp8")
    with pytest.raises(ValueError, match=r"generate\(compute_type\)='half'"):
        ours.generate(ids, attention_mask=mask, max_new_tokens=3, compute_type="half")


@pytest.mark.parametrize(("compute_type", "product", "bound"), [("bf16", BF16Linear, 0.02), ("int8", Int8Linear, 0.1)])
def test_the_encoder_and_the_cross_attention_run_in_the_calls_precision(model, compute_type, product, bound):
    """The whole call changes precision, as in CTranslate2: the encoder (half of a batch-16 call's time)
    and the cross-attention keys and values, not only the decode steps."""
    ours = warmseq.EncoderDecoderModel.from_pretrained(model)
    assert quantization.encoder_for(ours.encoder, "float32") is ours.encoder
    low = quantization.encoder_for(ours.encoder, compute_type)
    replaced = [m for m in low.modules() if isinstance(m, product)]
    assert replaced and not any(isinstance(m, torch.nn.Linear) for m in low.modules())
    assert quantization.encoder_for(ours.encoder, compute_type) is low  # kept between calls
    ids, mask = padded_batch(99)
    with torch.inference_mode():
        exact = ours.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        approx = low(input_ids=ids, attention_mask=mask).last_hidden_state
    assert 0 < float((approx - exact).norm() / exact.norm()) < bound
    out = ours.generate(ids, attention_mask=mask, max_new_tokens=2, compute_type=compute_type,
                        return_dict_in_generate=True, output_hidden_states=True)
    encoded = out.encoder_hidden_states[-1]  # generate encoded with the copy (the recording path may round apart)
    assert float((encoded - approx).abs().max()) < 1e-5 < float((encoded - exact).abs().max())

    with torch.inference_mode():
        caches = {kind: CachedDecoder(ours, approx, mask, compute_type=kind).make_cache(1, 2).cache
                  for kind in ("float32", compute_type)}
    exact_keys, low_keys = (caches[kind].memory_kv[0][0] for kind in ("float32", compute_type))
    assert 0 < float((low_keys - exact_keys).norm() / exact_keys.norm()) < bound
