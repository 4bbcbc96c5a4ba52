"""BERT's config.json fields, and how they read as a transformer stack."""

from __future__ import annotations

from typing import Any

from warmseq.configs.base import PretrainedConfig
from warmseq.configs.spec import TransformerSpec


class BertConfig(PretrainedConfig):
    model_type = "bert"
    defaults: dict[str, Any] = {
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "use_cache": True,
        "classifier_dropout": None,
    }

    def to_spec(self) -> TransformerSpec:
        return TransformerSpec(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_hidden_layers,
            num_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            max_positions=self.max_position_embeddings,
            activation=self.hidden_act,
            norm_eps=self.layer_norm_eps,
            type_vocab_size=self.type_vocab_size,
            pad_token_id=self.pad_token_id,
            dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob,
            initializer_range=self.initializer_range,
            is_causal=self.is_decoder,
            has_cross_attention=self.add_cross_attention,
            lm_head_transform=True,
        )
