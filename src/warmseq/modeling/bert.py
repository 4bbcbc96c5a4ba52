"""BERT as an encoder (`BertModel`) and as a decoder with cross-attention (`BertLMHeadModel`)."""

from __future__ import annotations

import torch
from torch import Tensor

from warmseq.configs.bert import BertConfig
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel


class BertModel(EncoderModel):
    """BERT encoder. Its pooler is kept as buffers: loaded and saved, never trained, so seq2seq
    training (which does not use it) leaves no parameter without a gradient under DDP."""

    config_class = BertConfig
    base_model_prefix = "bert"

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        h = config.hidden_size
        self.register_buffer("pooler_weight", torch.randn(h, h) * config.initializer_range)
        self.register_buffer("pooler_bias", torch.zeros(h))

    def pooled(self, hidden: Tensor) -> Tensor:
        """BERT's pooled output: tanh(dense(first token))."""
        return torch.tanh(hidden[:, 0] @ self.pooler_weight.T + self.pooler_bias)


class BertLMHeadModel(CausalLM):
    config_class = BertConfig
    base_model_prefix = "bert"


BertForCausalLM = BertLMHeadModel  # the other name the original uses for this model
