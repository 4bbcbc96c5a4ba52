"""Tiny random configs of the peer (BERT, GPT-2, BART) and checks shared by the GPT-2 / BART parity tests."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

transformers = pytest.importorskip("transformers")

BERT_VOCAB, GPT2_VOCAB, BART_VOCAB = 99, 87, 77
GPT2_END = GPT2_VOCAB - 1  # GPT-2's bos == eos (== pad, when users follow the usual recipe)


def bert_config(**fields):
    return transformers.BertConfig(vocab_size=BERT_VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=37, max_position_embeddings=64, initializer_range=0.1, **fields)


def gpt2_config(**fields):
    return transformers.GPT2Config(vocab_size=GPT2_VOCAB, n_embd=24, n_layer=2, n_head=4, n_positions=64,
                                   initializer_range=0.1, bos_token_id=GPT2_END, eos_token_id=GPT2_END, **fields)


def bart_config(**fields):
    return transformers.BartConfig(vocab_size=BART_VOCAB, d_model=16, encoder_layers=2, decoder_layers=2,
                                   encoder_attention_heads=4, decoder_attention_heads=2, encoder_ffn_dim=29,
                                   decoder_ffn_dim=31, max_position_embeddings=64, init_std=0.1,
                                   scale_embedding=True, **fields)


def padded_batch(vocab: int, rows: int = 3, length: int = 9, low: int = 3, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Token ids and a 0/1 mask with rows of different lengths (right padding)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(low, vocab - 1, (rows, length), generator=generator)
    mask = torch.ones_like(ids)
    for row in range(1, rows):
        mask[row, length - 2 * row :] = 0
    return ids, mask


def assert_close(ours: Tensor, theirs: Tensor, what: str = "logits") -> None:
    diff = (ours - theirs).abs().max().item()
    assert diff <= 1e-5, f"{what} differ from the peer's by {diff:.2e}"


def assert_clean(info: dict) -> None:
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        assert not info[kind], f"{kind}: {sorted(info[kind])}"
