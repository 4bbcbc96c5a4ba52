"""Every bad input named in the foundation issue gets an error that names the problem."""

from __future__ import annotations

import json

import pytest
import torch

import warmseq
from tests.conftest import tiny_bert_kwargs


@pytest.fixture()
def saved_pair(tmp_path):
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs())
    )
    model = warmseq.EncoderDecoderModel(config=config)
    model.config.decoder_start_token_id, model.config.pad_token_id = 1, 0
    model.save_pretrained(tmp_path / "pair")
    return tmp_path / "pair"


@pytest.fixture()
def model(saved_pair):
    return warmseq.EncoderDecoderModel.from_pretrained(saved_pair)


def test_folder_without_config(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"has no config\.json \(found: model\.safetensors\)"):
        warmseq.EncoderDecoderModel.from_pretrained(tmp_path)


@pytest.mark.parametrize("path", ["./no/such/folder", "/definitely/missing", "runs/a/b"])
def test_missing_path_is_not_taken_for_a_hub_id(path):
    with pytest.raises(FileNotFoundError, match="model folder .* does not exist"):
        warmseq.EncoderDecoderModel.from_pretrained(path)


def test_unknown_hub_id_offline_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="not a local folder and config.json is not in the Hub cache"):
        warmseq.AutoConfig.from_pretrained("nobody-has/this-model-xyz")


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 10], ids=["empty", "garbage"])
def test_broken_safetensors_names_the_file(saved_pair, content):
    (saved_pair / "model.safetensors").write_bytes(content)
    with pytest.raises(ValueError, match=r"model\.safetensors is not a readable safetensors file"):
        warmseq.EncoderDecoderModel.from_pretrained(saved_pair)


def test_truncated_safetensors_names_the_file(saved_pair):
    path = saved_pair / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"model\.safetensors is not a readable safetensors file"):
        warmseq.EncoderDecoderModel.from_pretrained(saved_pair)


def test_missing_shard_is_named(saved_pair):
    model = warmseq.EncoderDecoderModel.from_pretrained(saved_pair)
    model.save_pretrained(saved_pair, max_shard_size="20KB")
    index = json.loads((saved_pair / "model.safetensors.index.json").read_text())
    shard = sorted(set(index["weight_map"].values()))[-1]
    (saved_pair / shard).unlink()
    with pytest.raises(FileNotFoundError, match=f"lists shard {shard}, which is missing"):
        warmseq.EncoderDecoderModel.from_pretrained(saved_pair)


def test_invalid_config_json_names_the_file(saved_pair):
    (saved_pair / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        warmseq.EncoderDecoderModel.from_pretrained(saved_pair)


def test_unknown_model_type(saved_pair):
    data = json.loads((saved_pair / "config.json").read_text())
    data["decoder"]["model_type"] = "perceiver"
    (saved_pair / "config.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="decoder: model_type 'perceiver' is not supported"):
        warmseq.EncoderDecoderModel.from_pretrained(saved_pair)


@pytest.mark.parametrize("field, message", [
    ("decoder_start_token_id", "decoder_start_token_id is not set"),
    ("pad_token_id", "pad_token_id is not set"),
])
def test_labels_need_special_ids(model, field, message):
    setattr(model.config, field, None)
    with pytest.raises(ValueError, match=message):
        model(input_ids=torch.tensor([[5, 6]]), labels=torch.tensor([[7, 8]]))


def test_token_ids_out_of_range(model):
    with pytest.raises(ValueError, match=r"input_ids holds token id 99, outside the vocabulary \[0, 99\)"):
        model(input_ids=torch.tensor([[5, 99]]), labels=torch.tensor([[7, 8]]))
    with pytest.raises(ValueError, match="input_ids holds token id -100.*not in inputs"):
        model(input_ids=torch.tensor([[5, -100]]), labels=torch.tensor([[7, 8]]))
    with pytest.raises(ValueError, match="labels holds token id 500"):
        model(input_ids=torch.tensor([[5, 6]]), labels=torch.tensor([[7, 500]]))


def test_float_token_ids(model):
    with pytest.raises(TypeError, match="input_ids has dtype torch.float32; token ids must be an integer tensor"):
        model(input_ids=torch.tensor([[5.0, 6.0]]), labels=torch.tensor([[7, 8]]))


def test_source_longer_than_positions(model):
    with pytest.raises(ValueError, match="input_ids has 65 tokens but the model holds at most 64 positions"):
        model(input_ids=torch.full((1, 65), 5), labels=torch.tensor([[7, 8]]))


def test_unknown_forward_argument_suggests_the_closest(model):
    with pytest.raises(TypeError, match="unexpected argument 'label'.*did you mean 'labels'"):
        model(input_ids=torch.tensor([[5, 6]]), label=torch.tensor([[7, 8]]))


def test_decoder_without_cross_attention_is_refused():
    encoder = warmseq.BertModel(warmseq.BertConfig(**tiny_bert_kwargs()))
    decoder = warmseq.BertLMHeadModel(warmseq.BertConfig(**tiny_bert_kwargs(), is_decoder=True))
    with pytest.raises(ValueError, match="the decoder BertLMHeadModel has no cross-attention"):
        warmseq.EncoderDecoderModel(encoder=encoder, decoder=decoder)


def test_encoder_with_lm_head_is_refused():
    kwargs = tiny_bert_kwargs(is_decoder=True, add_cross_attention=True)
    decoder = warmseq.BertLMHeadModel(warmseq.BertConfig(**kwargs))
    with pytest.raises(ValueError, match="the encoder is a BertLMHeadModel, which has an LM head; .*BertModel"):
        warmseq.EncoderDecoderModel(encoder=warmseq.BertLMHeadModel(warmseq.BertConfig(**kwargs)), decoder=decoder)


def test_shape_mismatch_is_a_table_unless_ignored(saved_pair):
    data = json.loads((saved_pair / "config.json").read_text())
    data["decoder"]["intermediate_size"] = 40
    (saved_pair / "config.json").write_text(json.dumps(data))
    expected = r"(?s)shape mismatch.*intermediate\.dense\.weight: checkpoint \[37, 32\] vs model \[40, 32\]"
    with pytest.raises(ValueError, match=expected):
        warmseq.EncoderDecoderModel.from_pretrained(saved_pair)
    _, info = warmseq.EncoderDecoderModel.from_pretrained(saved_pair, ignore_mismatched_sizes=True,
                                                          output_loading_info=True)
    assert len(info["mismatched_keys"]) == 6
