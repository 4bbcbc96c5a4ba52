"""Bad input to model.generate(): each gets an error that names the problem."""

from __future__ import annotations

import pytest
import torch

import warmseq
from tests.conftest import tiny_bert_kwargs


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs())
    )
    model = warmseq.EncoderDecoderModel(config=config).eval()
    model.config.decoder_start_token_id, model.config.pad_token_id, model.config.eos_token_id = 1, 0, 2
    return model


SOURCE = torch.tensor([[5, 6, 7]])


def test_empty_input(model):
    with pytest.raises(ValueError, match="input_ids is empty"):
        model.generate(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="generate\\(\\) needs input_ids"):
        model.generate()


def test_ids_out_of_range(model):
    with pytest.raises(ValueError, match=r"input_ids holds token id 99, outside the vocabulary \[0, 99\)"):
        model.generate(torch.tensor([[5, 99]]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_beams=0), "num_beams"),
    (dict(num_beams=2, num_return_sequences=3), "num_return_sequences"),
    (dict(do_sample=True, temperature=0.0), "temperature"),
    (dict(do_sample=True, top_p=1.5), "top_p"),
    (dict(do_sample=True, top_p=0.0), "top_p"),
])
def test_invalid_settings_name_the_field(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.generate(SOURCE, **kwargs)


def test_max_new_tokens_past_the_decoder_positions(model):
    with pytest.raises(ValueError, match="max_new_tokens=100 .* max_positions=64"):
        model.generate(SOURCE, max_new_tokens=100)


def test_unknown_keyword_names_it_and_suggests(model):
    with pytest.raises(TypeError, match="no field 'num_beam'.*did you mean 'num_beams'"):
        model.generate(SOURCE, num_beam=4)


def test_missing_start_token_says_what_to_set(model):
    model.config.decoder_start_token_id = None
    try:
        with pytest.raises(ValueError, match="set model.config.decoder_start_token_id"):
            model.generate(SOURCE)
    finally:
        model.config.decoder_start_token_id = 1


@pytest.mark.parametrize("kwargs", [dict(), dict(num_beams=3)], ids=["greedy", "beam"])
def test_nan_logits_stop_with_the_step(kwargs):
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs()),
        decoder_start_token_id=1, pad_token_id=0,
    )
    broken = warmseq.EncoderDecoderModel(config=config).eval()
    with torch.no_grad():
        broken.decoder.lm_head.bias[7] = float("nan")
    with pytest.raises(RuntimeError, match="generation step 1: .*NaN"):
        broken.generate(SOURCE, max_new_tokens=5, **kwargs)


def test_generation_config_round_trips_with_the_model(tmp_path, model):
    model.generation_config = warmseq.GenerationConfig(num_beams=3, max_new_tokens=7, no_repeat_ngram_size=2)
    try:
        model.save_pretrained(tmp_path)
        again = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    finally:
        model.generation_config = None
    assert again.generation_config.num_beams == 3 and again.generation_config.decoder_start_token_id == 1
    assert torch.equal(again.generate(SOURCE), model.generate(SOURCE, num_beams=3, max_new_tokens=7,
                                                              no_repeat_ngram_size=2))
