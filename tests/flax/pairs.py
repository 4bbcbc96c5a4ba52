"""Tiny random encoder-decoder pairs of every family, built by warmseq's PyTorch side, and their Flax twins."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from warmseq import configs
from warmseq.modeling.encoder_decoder import EncoderDecoderModel

jax = pytest.importorskip("jax")
FlaxEncoderDecoderModel = pytest.importorskip("warmseq.flax").FlaxEncoderDecoderModel

BERT_LAYOUT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                   max_position_embeddings=64, initializer_range=0.1)
GPT2_END = 86


def bert_layout(kind: type, **fields) -> configs.PretrainedConfig:
    return kind(**{**BERT_LAYOUT, **fields})


def gpt2() -> configs.GPT2Config:
    return configs.GPT2Config(vocab_size=87, n_embd=24, n_layer=2, n_head=4, n_positions=64, initializer_range=0.1,
                              bos_token_id=GPT2_END, eos_token_id=GPT2_END)


def bart() -> configs.BartConfig:
    return configs.BartConfig(vocab_size=77, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                              decoder_attention_heads=2, encoder_ffn_dim=29, decoder_ffn_dim=31,
                              max_position_embeddings=64, init_std=0.1, scale_embedding=True)


@dataclass(frozen=True)
class Pair:
    encoder: callable
    decoder: callable
    start: int  # decoder start token
    pad: int
    eos: int
    tie: bool = False


PAIRS = {
    "bert2bert": Pair(lambda: bert_layout(configs.BertConfig), lambda: bert_layout(configs.BertConfig), 0, 0, 5),
    "roberta2roberta-shared": Pair(lambda: bert_layout(configs.RobertaConfig),
                                   lambda: bert_layout(configs.RobertaConfig), 0, 1, 5, tie=True),
    "electra2electra": Pair(lambda: bert_layout(configs.ElectraConfig, embedding_size=16),
                            lambda: bert_layout(configs.ElectraConfig, embedding_size=16), 0, 0, 5),
    "bert-generation2bert-generation": Pair(lambda: bert_layout(configs.BertGenerationConfig),
                                            lambda: bert_layout(configs.BertGenerationConfig), 0, 0, 5),
    "bert2gpt2": Pair(lambda: bert_layout(configs.BertConfig), gpt2, GPT2_END, 0, GPT2_END),  # projection 32 -> 24
    "bart2bart": Pair(bart, bart, 2, 1, 2),
    "gpt22bert": Pair(gpt2, lambda: bert_layout(configs.BertConfig, hidden_size=24), 0, 0, 5),
}


def torch_pair(name: str) -> EncoderDecoderModel:
    """warmseq's PyTorch pair, every weight nudged off its initial value (zero biases and unit norms would
    hide a bias left out)."""
    pair = PAIRS[name]
    config = configs.EncoderDecoderConfig.from_encoder_decoder_configs(
        pair.encoder(), pair.decoder(), tie_encoder_decoder=pair.tie,
        decoder_start_token_id=pair.start, pad_token_id=pair.pad, eos_token_id=pair.eos)
    torch.manual_seed(0)
    model = EncoderDecoderModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter), alpha=0.05)
    return model


def both(name: str, folder: Path) -> tuple[EncoderDecoderModel, FlaxEncoderDecoderModel]:
    """The PyTorch pair and the Flax pair loaded from its saved folder."""
    model = torch_pair(name)
    model.save_pretrained(folder)
    return model, FlaxEncoderDecoderModel.from_pretrained(folder)


def padded_batch(vocab: int, pad: int, rows: int = 3, length: int = 9, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Token ids in [3, vocab - 1) and a 0/1 mask whose rows have different lengths (right padding)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, vocab - 1, (rows, length))
    mask = np.ones_like(ids)
    for row in range(1, rows):
        mask[row, length - 2 * row :] = 0
    return np.where(mask == 1, ids, pad), mask


def labels_for(vocab: int, rows: int = 3, length: int = 6, seed: int = 2) -> np.ndarray:
    labels = np.random.default_rng(seed).integers(3, vocab - 1, (rows, length))
    labels[0, length - 2 :] = -100
    labels[2, length - 1 :] = -100
    return labels


def source_vocab(model: EncoderDecoderModel) -> int:
    return model.encoder.spec.vocab_size


def target_vocab(model: EncoderDecoderModel) -> int:
    return model.decoder.spec.vocab_size
