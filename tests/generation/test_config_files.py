"""generation_config.json in and out, read by the peer and from the peer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warmseq.generation import GenerationConfig

transformers = pytest.importorskip("transformers")


def test_defaults_are_the_peers() -> None:
    config = GenerationConfig()
    assert (config.min_length, config.num_beams, config.num_return_sequences) == (0, 1, 1)
    assert (config.temperature, config.top_k, config.top_p) == (1.0, 50, 1.0)
    assert (config.repetition_penalty, config.length_penalty, config.no_repeat_ngram_size) == (1.0, 1.0, 0)
    assert config.early_stopping is False and config.do_sample is False
    assert config.max_length is None and config.max_new_tokens is None  # 20 new tokens, as the peer


def test_round_trip_and_atomic_write(tmp_path: Path) -> None:
    config = GenerationConfig(num_beams=4, length_penalty=2.0, eos_token_id=[2, 3], early_stopping="never")
    path = config.save_pretrained(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["generation_config.json"]  # no temp file left behind
    assert json.loads(path.read_text()) == {
        "num_beams": 4, "length_penalty": 2.0, "eos_token_id": [2, 3], "early_stopping": "never",
    }  # fmt: skip
    assert GenerationConfig.from_pretrained(tmp_path) == config


def test_peer_reads_ours(tmp_path: Path) -> None:
    GenerationConfig(num_beams=3, max_new_tokens=30, no_repeat_ngram_size=3, pad_token_id=0).save_pretrained(tmp_path)
    theirs = transformers.GenerationConfig.from_pretrained(tmp_path)
    assert (theirs.num_beams, theirs.max_new_tokens, theirs.no_repeat_ngram_size) == (3, 30, 3)
    assert theirs.pad_token_id == 0 and theirs.max_length is None


def test_we_read_the_peers(tmp_path: Path) -> None:
    theirs = transformers.GenerationConfig(
        num_beams=4, max_length=142, min_length=56, length_penalty=2.0, early_stopping=True,
        no_repeat_ngram_size=3, decoder_start_token_id=101, eos_token_id=102, bad_words_ids=[[7, 8]],
    )  # fmt: skip
    theirs.save_pretrained(tmp_path)
    ours = GenerationConfig.from_pretrained(tmp_path)
    assert (ours.num_beams, ours.max_length, ours.min_length, ours.length_penalty) == (4, 142, 56, 2.0)
    assert ours.early_stopping is True and ours.no_repeat_ngram_size == 3
    assert (ours.decoder_start_token_id, ours.eos_token_id, ours.bad_words_ids) == (101, 102, [[7, 8]])


def test_unknown_keys_in_a_file_are_kept(tmp_path: Path) -> None:
    (tmp_path / "generation_config.json").write_text(json.dumps({"num_beams": 2, "typical_p": 0.9}))
    config = GenerationConfig.from_pretrained(tmp_path)
    assert config.num_beams == 2 and config.extra == {"typical_p": 0.9}
    config.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "generation_config.json").read_text())["typical_p"] == 0.9


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="generation_config.json does not exist"):
        GenerationConfig.from_pretrained(tmp_path)
    (tmp_path / "generation_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        GenerationConfig.from_pretrained(tmp_path)


def test_from_model_config_honours_legacy_top_level_fields() -> None:
    legacy = {
        "model_type": "encoder-decoder", "num_beams": 4, "max_length": 142, "min_length": 56,
        "no_repeat_ngram_size": 3, "length_penalty": 2.0, "early_stopping": True, "pad_token_id": 0,
        "eos_token_id": None, "decoder_start_token_id": 101,
        "decoder": {"eos_token_id": 102, "num_beams": 1, "vocab_size": 30522},
    }  # fmt: skip
    config = GenerationConfig.from_model_config(legacy)
    assert (config.num_beams, config.max_length, config.min_length, config.no_repeat_ngram_size) == (4, 142, 56, 3)
    assert config.early_stopping is True and config.length_penalty == 2.0
    assert (config.pad_token_id, config.decoder_start_token_id) == (0, 101)
    assert config.eos_token_id == 102  # unset at the top level, taken from the decoder


def test_copy_leaves_original() -> None:
    base = GenerationConfig(num_beams=4)
    changed = base.copy(num_beams=2, max_new_tokens=5)
    assert base.num_beams == 4 and base.max_new_tokens is None
    assert (changed.num_beams, changed.max_new_tokens) == (2, 5)
