"""Bad input to the TF model gets the PyTorch side's one-line errors, naming the argument or file."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tf.conftest import TINY, batch, torch_pair
from warmseq.configs import EncoderDecoderConfig
from warmseq.tf import TFBertLMHeadModel, TFBertModel, TFEncoderDecoderModel


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    reference = torch_pair("bert", "bert")
    reference.save_pretrained(folder)
    return folder, batch(reference)


@pytest.fixture(scope="module")
def model(saved):
    return TFEncoderDecoderModel.from_pretrained(saved[0])


def test_token_id_outside_the_vocabulary(model, saved):
    inputs = dict(saved[1], input_ids=np.full((1, 4), 99))
    inputs["attention_mask"], inputs["labels"] = np.ones((1, 4)), np.ones((1, 3), int)
    with pytest.raises(ValueError, match=r"input_ids holds token id 99, outside the vocabulary \[0, 99\)"):
        model(**inputs)


def test_minus_100_in_inputs_gets_a_hint(model):
    with pytest.raises(ValueError, match="-100 marks ignored positions in labels"):
        model(input_ids=np.array([[5, -100]]), decoder_input_ids=np.array([[3]]))


def test_float_ids_and_wrong_rank(model):
    with pytest.raises(TypeError, match="input_ids has dtype float32; token ids must be integers"):
        model(input_ids=np.ones((1, 3), np.float32), decoder_input_ids=np.array([[3]]))
    with pytest.raises(ValueError, match=r"input_ids has shape \(3,\); expected \(batch, sequence_length\)"):
        model(input_ids=np.array([5, 6, 7]), decoder_input_ids=np.array([[3]]))


def test_too_long_for_the_positions(model):
    with pytest.raises(ValueError, match="input_ids has 70 tokens but the model holds at most 64 positions"):
        model(input_ids=np.full((1, 70), 5), decoder_input_ids=np.array([[3]]))


def test_labels_need_the_start_token(saved):
    model = TFEncoderDecoderModel.from_pretrained(saved[0])
    model.config.decoder_start_token_id = None
    with pytest.raises(ValueError, match="decoder_start_token_id is not set"):
        model(**saved[1])
    model.generation_config.decoder_start_token_id = None  # generate falls back on generation_config.json
    with pytest.raises(ValueError, match="generate\\(\\) needs the token that starts every target"):
        model.generate(saved[1]["input_ids"], jit_compile=False)


def test_bad_labels_and_unknown_arguments(model, saved):
    with pytest.raises(ValueError, match=r"labels holds token id 500, outside the vocabulary \[0, 99\) and not -100"):
        model(**dict(saved[1], labels=np.array([[500, 3]] * 3)))
    with pytest.raises(TypeError, match="unexpected argument 'decoder_input_id'; did you mean 'decoder_input_ids'"):
        model(**saved[1], decoder_input_id=np.array([[3]]))
    with pytest.raises(ValueError, match="pass input_ids \\(the source tokens\\) or encoder_outputs"):
        model(labels=saved[1]["labels"])


def test_generate_errors_as_on_the_pytorch_side(model, saved):
    with pytest.raises(TypeError, match="generate\\(\\) got an unknown keyword"):
        model.generate(saved[1]["input_ids"], num_beam=4)
    with pytest.raises(ValueError, match="needs 100 decoder positions, but the decoder has max_positions=64"):
        model.generate(saved[1]["input_ids"], max_new_tokens=99)


def test_missing_weights_and_broken_files(tmp_path, saved):
    (tmp_path / "config.json").write_text((saved[0] / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="has no weights: expected one of model.safetensors"):
        TFEncoderDecoderModel.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match=r"model\.safetensors is not a readable safetensors file"):
        TFEncoderDecoderModel.from_pretrained(tmp_path)


def test_wrong_parts_and_configs():
    encoder_config, decoder_config = TINY["bert"](), TINY["bert"]()
    with pytest.raises(ValueError, match="TFEncoderDecoderModel needs a config, or both an encoder and a decoder"):
        TFEncoderDecoderModel(encoder=TFBertModel(encoder_config))
    decoder_config.is_decoder = True
    with pytest.raises(ValueError, match="has no cross-attention: build it with a config that has is_decoder=True"):
        TFEncoderDecoderModel(encoder=TFBertModel(encoder_config), decoder=TFBertLMHeadModel(decoder_config))
    with pytest.raises(ValueError, match="is an encoder, but its config has is_decoder=True"):
        TFBertModel(decoder_config)
    with pytest.raises(TypeError, match="config must be an EncoderDecoderConfig, got BertConfig"):
        TFEncoderDecoderModel(config=encoder_config)


def test_shape_mismatch_names_the_keys(tmp_path, saved):
    small = EncoderDecoderConfig.from_pretrained(saved[0])
    small.decoder.vocab_size = 98
    with pytest.raises(ValueError, match="(?s)shape mismatch .*ignore_mismatched_sizes=True"):
        TFEncoderDecoderModel.from_pretrained(saved[0], config=small)
