"""Token, position and token-type embeddings."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from warmseq.configs.spec import TransformerSpec
from warmseq.modeling.dropout import Dropout
from warmseq.modeling.linear import Linear


class Embeddings(nn.Module):
    def __init__(self, spec: TransformerSpec) -> None:
        super().__init__()
        self.spec = spec
        width = spec.embedding_width
        self.tokens = nn.Embedding(spec.vocab_size, width, padding_idx=spec.pad_token_id)
        self.positions = nn.Embedding(spec.max_positions, width)
        self.token_types = nn.Embedding(spec.type_vocab_size, width) if spec.type_vocab_size else None
        self.norm = nn.LayerNorm(width, eps=spec.norm_eps) if spec.embedding_norm else None
        self.dropout = Dropout(spec.dropout if spec.embedding_dropout is None else spec.embedding_dropout)
        # ELECTRA: narrow embeddings projected up to the blocks' width
        self.project = Linear(width, spec.hidden_size) if width != spec.hidden_size else None

    def forward(self, tokens: Tensor, start: int | Tensor = 0, token_type_ids: Tensor | None = None) -> Tensor:
        """`tokens` (batch, seq); `start` is the position of the first token (cached decoding), an int or a
        (1,) tensor (a static decode step)."""
        x = self.tokens(tokens)
        if self.spec.embedding_scale != 1.0:
            x = x * self.spec.embedding_scale
        x = x + self.positions(self.position_ids(tokens, start))
        if self.token_types is not None:
            x = x + (self.token_types(token_type_ids) if token_type_ids is not None else self.token_types.weight[0])
        if self.norm is not None:
            x = self.norm(x)
        if self.training:
            x = self.dropout(x)
        return self.project(x) if self.project is not None else x

    def position_ids(self, tokens: Tensor, start: int | Tensor) -> Tensor:
        offset = self.spec.position_offset
        if self.spec.positions_skip_padding:
            # padding keeps the pad index's row; real tokens count from pad + 1
            real = (tokens != self.spec.pad_token_id).long()
            return (torch.cumsum(real, dim=1) + start) * real + self.spec.pad_token_id
        if isinstance(start, Tensor):
            return start + offset + torch.arange(tokens.shape[1], device=tokens.device)
        return torch.arange(start + offset, start + offset + tokens.shape[1], device=tokens.device)
