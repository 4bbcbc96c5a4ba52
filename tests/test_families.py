"""The family records are the one registry: every lookup (configs, models, tokenizers, inspect, public
names) sees exactly the records, and a record for a new family is all a registry needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import warmseq
import warmseq.configs
from tests.conftest import tiny_bert_kwargs
from warmseq.checkpoints.bert import bert_encoder_map, bert_lm_map
from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.auto import config_class_for
from warmseq.configs.bert import BertConfig
from warmseq.families import FAMILIES, FAMILY_BY_TYPE, Family, family_for
from warmseq.inspect import describe_part
from warmseq.modeling.auto import decoder_class_for, encoder_class_for, family_class_name
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel
from warmseq.tokenization.auto import CLASS_NAMES, MODEL_TYPES

EXPECTED = {"bert", "roberta", "xlm-roberta", "electra", "bert-generation", "gpt2", "bart"}


def test_one_record_per_family_and_its_classes_agree():
    assert [f.model_type for f in FAMILIES] and {f.model_type for f in FAMILIES} == EXPECTED
    assert len(FAMILIES) == len(FAMILY_BY_TYPE)  # no model_type twice
    for family in FAMILIES:
        assert issubclass(family.encoder_class, EncoderModel), family.encoder
        assert issubclass(family.decoder_class, CausalLM), family.decoder
        assert family.encoder_class.config_class is family.config_class
        assert family.decoder_class.config_class is family.config_class
        assert family.encoder_class.__name__ == family.encoder and family.decoder_class.__name__ == family.decoder


def test_config_and_model_registries_see_exactly_the_records():
    for family in FAMILIES:
        assert config_class_for(family.model_type, "test") is family.config_class
        config = family.config_class()
        assert encoder_class_for(config) is family.encoder_class
        decoder_config = family.config_class(is_decoder=True, add_cross_attention=True)
        assert decoder_class_for(decoder_config) is family.decoder_class
    with pytest.raises(ValueError, match=r"test: model_type 'perceiver' is not supported by warmseq; supported: \["):
        config_class_for("perceiver", "test")
    assert config_class_for("encoder-decoder", "test") is warmseq.EncoderDecoderConfig


def test_public_names_are_the_records_classes():
    names = [name for family in FAMILIES for name in (family.config_class.__name__, *family.model_names())]
    assert len(names) == 3 * len(FAMILIES) + 1  # BertForCausalLM is the one alias
    for family in FAMILIES:
        assert getattr(warmseq, family.config_class.__name__) is family.config_class
        assert getattr(warmseq.configs, family.config_class.__name__) is family.config_class
        assert getattr(warmseq, family.encoder) is family.encoder_class
        assert getattr(warmseq, family.decoder) is family.decoder_class
    assert set(names) <= set(warmseq.__all__) and set(names) <= set(dir(warmseq))
    assert warmseq.BertForCausalLM is warmseq.BertLMHeadModel
    with pytest.raises(AttributeError, match="no attribute 'BertConfigs'"):
        warmseq.configs.BertConfigs  # noqa: B018


def test_tokenizer_registry_sees_exactly_the_records():
    with_tokenizer = [f for f in FAMILIES if f.tokenizer]
    assert with_tokenizer
    assert set(MODEL_TYPES) - {"distilbert"} == {f.model_type for f in with_tokenizer}
    for family in with_tokenizer:
        assert MODEL_TYPES[family.model_type].__name__ == family.tokenizer
        assert CLASS_NAMES[family.tokenizer_class_name].__name__ == family.tokenizer
    assert CLASS_NAMES["ElectraTokenizer"] is CLASS_NAMES["BertTokenizer"]


def test_model_key_maps_and_label_shift_come_from_the_record():
    for family in FAMILIES:
        config = family.config_class(**sizes_for(family))
        encoder = family.encoder_class(config)
        assert layout(encoder.key_map()) == layout(family.encoder_key_map(encoder.spec))
        decoder = family.decoder_class(family.config_class(**sizes_for(family), is_decoder=True,
                                                           add_cross_attention=True))
        tied = decoder.config.tie_word_embeddings
        assert layout(decoder.key_map()) == layout(family.decoder_key_map(decoder.spec, tied))
        assert decoder.shifts_labels is not family.labels_pre_shifted
        assert family_class_name(decoder, "decoder", "?") == family.decoder
    assert [f.model_type for f in FAMILIES if f.labels_pre_shifted] == ["bart"]


def layout(key_map: KeyMap) -> tuple:
    """What a key map says, without the transform functions (fresh closures each call)."""
    assert key_map.rules
    return ([(rule.ours, rule.theirs) for rule in key_map.rules], key_map.derived, key_map.ignored_suffixes,
            key_map.base_prefix, key_map.unused_prefixes)


def test_inspect_reads_the_sizes_each_record_names():
    for family in FAMILIES:
        data = family.config_class(**sizes_for(family)).to_dict()
        part = describe_part(data, None, "")
        labels = [label for label, _ in family.sizes]
        assert labels and all(label in part for label in labels), (family.model_type, part)
        assert part["layers"] == 2 and part["vocab"] == 99


def sizes_for(family: Family) -> dict:
    """Tiny sizes under each family's own field names."""
    return TINY.get(family.model_type, tiny_bert_kwargs())


TINY = {
    "electra": tiny_bert_kwargs(embedding_size=16),
    "gpt2": dict(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64),
    "bart": dict(vocab_size=99, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                 decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=64),
}


class TinyBertConfig(BertConfig):
    """A family that is BERT under another name: its own config class and one record, nothing else."""

    model_type = "tiny-bert-test"


def test_a_new_family_needs_only_its_record(tmp_path, monkeypatch):
    record = Family(TinyBertConfig, "warmseq.modeling.bert", "BertModel", "BertLMHeadModel",
                    bert_encoder_map, bert_lm_map)
    monkeypatch.setitem(FAMILY_BY_TYPE, record.model_type, record)
    assert family_for("tiny-bert-test", "test") is record
    pair = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        TinyBertConfig(**tiny_bert_kwargs()), TinyBertConfig(**tiny_bert_kwargs()), decoder_start_token_id=1)
    model = warmseq.EncoderDecoderModel(config=pair).eval()
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["decoder"]["model_type"] == "tiny-bert-test"
    loaded = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    assert type(loaded.config.encoder) is TinyBertConfig
    ids = torch.randint(2, 99, (2, 7))
    with torch.no_grad():
        expected = model(input_ids=ids, decoder_input_ids=ids).logits
        assert torch.equal(loaded(input_ids=ids, decoder_input_ids=ids).logits, expected)


def test_records_and_configs_import_without_torch():
    code = ("import sys, builtins\n"
            "real = builtins.__import__\n"
            "def guarded(name, *a, **k):\n"
            "    if name == 'torch' or name.startswith('torch.'): raise ImportError('torch blocked')\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = guarded\n"
            "import importlib.util, types\n"
            "spec = importlib.util.find_spec('warmseq')\n"
            "pkg = types.ModuleType('warmseq'); pkg.__path__ = list(spec.submodule_search_locations)\n"
            "sys.modules['warmseq'] = pkg\n"  # skip warmseq/__init__ (it imports the PyTorch model)
            "from warmseq.families import FAMILIES\n"
            "from warmseq.configs.auto import AutoConfig\n"
            "print(len(FAMILIES), type(AutoConfig.for_model('gpt2', n_layer=2)).__name__)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(len(FAMILIES)), "GPT2Config"]
