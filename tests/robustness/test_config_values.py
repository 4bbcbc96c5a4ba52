"""config.json values that cannot describe a model are refused when the file is read, naming file and field;
a broken tokenizer.json is named too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import warmseq
from tests.robustness.tiny_checkpoint import save_tiny_pair


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    folder = tmp_path / "pair"
    save_tiny_pair(folder)
    return folder


def edit_config(folder: Path, part: str, **values: object) -> Path:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config[part].update(values)
    path.write_text(json.dumps(config))
    return path


@pytest.mark.parametrize(
    ("values", "field", "problem"),
    [
        ({"num_attention_heads": -4}, "num_attention_heads", "must be a positive integer, got -4"),
        ({"vocab_size": 0}, "vocab_size", "must be a positive integer, got 0"),
        ({"num_hidden_layers": "6"}, "num_hidden_layers", "must be a positive integer, got '6'"),
        ({"hidden_size": 30}, "hidden_size", "(30) is not a multiple of 'decoder.num_attention_heads' (4)"),
        ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob", "must be a probability between 0 and 1, got 1.5"),
        ({"layer_norm_eps": 0}, "layer_norm_eps", "must be a positive number, got 0"),
        ({"pad_token_id": -1}, "pad_token_id", "must be a token id"),
        ({"intermediate_size": True}, "intermediate_size", "must be a positive integer, got True"),
    ],
)
def test_bad_config_value_is_refused_naming_file_and_field(saved, values, field, problem):
    path = edit_config(saved, "decoder", **values)
    expected = f"{path}: field 'decoder.{field}' {problem}"
    for load in (warmseq.EncoderDecoderModel.from_pretrained, warmseq.EncoderDecoderConfig.from_pretrained,
                 warmseq.AutoConfig.from_pretrained):
        with pytest.raises(ValueError) as error:
            load(saved)
        assert str(error.value).startswith(expected), str(error.value)


def test_gpt2_and_bart_field_names_are_checked(tmp_path):
    for model_type, field, value in (("gpt2", "n_head", 0), ("bart", "encoder_attention_heads", -1)):
        path = tmp_path / model_type / "config.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"model_type": model_type, field: value}))
        with pytest.raises(ValueError, match=rf"config\.json: field '{field}' must be a positive integer"):
            warmseq.AutoConfig.from_pretrained(path.parent)


def test_gpt2_width_not_divisible_by_heads(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "gpt2", "n_embd": 100, "n_head": 3}))
    with pytest.raises(ValueError, match=r"field 'n_embd' \(100\) is not a multiple of 'n_head' \(3\)"):
        warmseq.AutoConfig.from_pretrained(tmp_path)


def test_valid_configs_still_load(saved, minilm_dir):
    warmseq.EncoderDecoderModel.from_pretrained(saved)
    warmseq.AutoConfig.from_pretrained(minilm_dir)


@pytest.mark.parametrize("damage", ["truncated", "missing field", "not json"])
def test_corrupt_tokenizer_json_names_the_file(minilm_dir, tmp_path, damage):
    folder = Path(shutil.copytree(minilm_dir, tmp_path / "tok"))
    path = folder / "tokenizer.json"
    broken = {
        "truncated": path.read_bytes()[:5000],
        "missing field": b'{"model": {"type": "WordPiece"}}',
        "not json": b"\x00\x01garbage",
    }
    path.write_bytes(broken[damage])
    for tokenizer_config in (True, False):  # with and without tokenizer_class (AutoTokenizer reads the file)
        if not tokenizer_config:
            (folder / "tokenizer_config.json").write_text("{}")
        with pytest.raises(ValueError, match=rf"{path}"):
            warmseq.AutoTokenizer.from_pretrained(folder)
