"""A tiny random bert2bert pair saved in a folder, shared by the robustness tests."""

from __future__ import annotations

from pathlib import Path

import torch

import warmseq
from tests.conftest import tiny_bert_kwargs


def tiny_pair(seed: int = 0, **overrides: int) -> warmseq.EncoderDecoderModel:
    torch.manual_seed(seed)
    kwargs = tiny_bert_kwargs(**overrides)
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**kwargs), warmseq.BertConfig(**kwargs)
    )
    model = warmseq.EncoderDecoderModel(config=config)
    model.config.decoder_start_token_id, model.config.pad_token_id = 1, 0
    return model


def save_tiny_pair(folder: Path, seed: int = 0, max_shard_size: int | str = "5GB") -> warmseq.EncoderDecoderModel:
    model = tiny_pair(seed)
    model.save_pretrained(folder, max_shard_size=max_shard_size)
    return model


def safetensors_bytes(header: bytes, data: bytes) -> bytes:
    """A safetensors file built by hand: 8-byte little-endian header length, header JSON, data."""
    return len(header).to_bytes(8, "little") + header + data
