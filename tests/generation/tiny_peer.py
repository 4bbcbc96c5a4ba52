"""A tiny random bert2bert from the peer, wrapped as step / reorder / make_cache for generate_tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import Tensor

transformers = pytest.importorskip("transformers")

VOCAB = 99
PAD, START, EOS, EOS_2 = 0, 1, 2, 3
MAX_POSITIONS = 64


@dataclass
class PeerCache:
    memory: Tensor  # (rows, source_len, hidden) encoder output, rows grouped by source
    memory_mask: Tensor  # (rows, source_len)
    past: Any  # the peer's EncoderDecoderCache, or None before the first step


class TinyPeer:
    """The peer's model plus the callables generate_tokens needs (its own KV cache, reordered in place)."""

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        shape = dict(
            vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=MAX_POSITIONS, initializer_range=0.1,
        )  # fmt: skip
        encoder = transformers.BertConfig(**shape)
        decoder = transformers.BertConfig(**shape, is_decoder=True, add_cross_attention=True)
        config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
        config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = START, PAD, EOS
        self.model = transformers.EncoderDecoderModel(config=config).eval()
        with torch.no_grad():  # make the end tokens likely enough that beams finish early
            self.model.decoder.cls.predictions.decoder.bias[EOS] += 0.8
            self.model.decoder.cls.predictions.decoder.bias[EOS_2] += 0.5
        generator = torch.Generator().manual_seed(seed + 1)
        self.source = torch.randint(4, VOCAB, (3, 7), generator=generator)
        self.source_mask = torch.ones_like(self.source)
        self.source_mask[1, 5:] = 0  # sources of different lengths: padding in the batch
        self.source_mask[2, 3:] = 0
        self.source[self.source_mask == 0] = PAD

    def make_cache(self, rows_per_source: int, max_new_len: int) -> PeerCache:
        with torch.no_grad():
            memory = self.model.encoder(input_ids=self.source, attention_mask=self.source_mask).last_hidden_state
        return PeerCache(
            memory.repeat_interleave(rows_per_source, dim=0),
            self.source_mask.repeat_interleave(rows_per_source, dim=0),
            None,
        )

    def step(self, tokens: Tensor, cache: PeerCache) -> tuple[Tensor, PeerCache]:
        with torch.no_grad():
            out = self.model.decoder(
                input_ids=tokens,
                encoder_hidden_states=cache.memory,
                encoder_attention_mask=cache.memory_mask,
                cache=cache.past,
                use_cache=True,
            )
        return out.logits[:, -1, :], PeerCache(cache.memory, cache.memory_mask, out.past_key_values)

    @staticmethod
    def reorder(cache: PeerCache, row_index: Tensor) -> PeerCache:
        # rows only move within a source, so the shared encoder rows stay valid as they are
        cache.past.reorder_cache(row_index)
        return cache

    @staticmethod
    def keep_rows(cache: PeerCache, rows: Tensor) -> PeerCache:
        """Only `rows` from here on (greedy search dropping ended rows; each row is its own source)."""
        cache.past.reorder_cache(rows)
        return PeerCache(cache.memory[rows], cache.memory_mask[rows], cache.past)

    def prompt(self) -> Tensor:
        return torch.full((self.source.shape[0], 1), START, dtype=torch.long)

    def peer_generate(self, **kwargs: Any) -> Any:
        kwargs.setdefault("decoder_start_token_id", START)
        with torch.no_grad():
            return self.model.generate(input_ids=self.source, attention_mask=self.source_mask, **kwargs)
