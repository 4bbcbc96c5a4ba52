"""Tiny real folders for the CLI tests: a random bert2bert saved by warmseq with the MiniLM tokenizer,
and a few Debian synopsis records; `run_cli` runs `python -m warmseq` in a subprocess."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from cli_runner import run_cli  # noqa: F401  (re-exported for the tests)

import warmseq

DATA = Path(__file__).resolve().parents[2] / "data" / "debian-synopsis" / "validation.jsonl"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
SIZES = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, max_position_embeddings=64
)


def copy_tokenizer(source: Path, folder: Path) -> None:
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)


@pytest.fixture(scope="session")
def pretrained_pair(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path) -> tuple[Path, Path]:
    """Random tiny BERT encoder and BERT decoder folders, each with the real MiniLM tokenizer files."""
    root = tmp_path_factory.mktemp("pretrained")
    vocab = len((minilm_dir / "vocab.txt").read_text(encoding="utf-8").splitlines())
    torch.manual_seed(0)
    warmseq.BertModel(warmseq.BertConfig(vocab_size=vocab, **SIZES)).save_pretrained(root / "encoder")
    decoder_config = warmseq.BertConfig(vocab_size=vocab, is_decoder=True, add_cross_attention=True, **SIZES)
    warmseq.BertLMHeadModel(decoder_config).save_pretrained(root / "decoder")
    for part in ("encoder", "decoder"):
        copy_tokenizer(minilm_dir, root / part)
    return root / "encoder", root / "decoder"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, pretrained_pair: tuple[Path, Path], minilm_dir: Path) -> Path:
    """A saved bert2bert (special ids set from the tokenizer) with the tokenizer files beside it."""
    folder = tmp_path_factory.mktemp("bert2bert")
    torch.manual_seed(0)
    model = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(*map(str, pretrained_pair))
    model.config.decoder_start_token_id = 101  # [CLS]
    model.config.eos_token_id = 102  # [SEP]
    model.config.pad_token_id = 0  # [PAD]
    model.save_pretrained(folder)
    copy_tokenizer(minilm_dir, folder)
    return folder


@pytest.fixture(scope="session")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 8 validation records, sources cut short so the tiny model's 64 positions are plenty."""
    path = tmp_path_factory.mktemp("data") / "validation.jsonl"
    with DATA.open(encoding="utf-8") as lines:
        records = [json.loads(next(lines)) for _ in range(8)]
    path.write_text(
        "".join(json.dumps({"text": r["text"][:200], "summary": r["summary"]}) + "\n" for r in records),
        encoding="utf-8",
    )
    return path
