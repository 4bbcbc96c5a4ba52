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
        return bert_layout_spec(self, lm_head_transform=True)


def bert_layout_spec(config: PretrainedConfig, **differences: Any) -> TransformerSpec:
    """The spec of a BERT-layout config (BERT, RoBERTa, ELECTRA, BertGeneration share these field names);
    `differences` are the family's own spec fields."""
    fields: dict[str, Any] = dict(
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        max_positions=config.max_position_embeddings,
        activation=config.hidden_act,
        norm_eps=config.layer_norm_eps,
        type_vocab_size=getattr(config, "type_vocab_size", 0),
        pad_token_id=config.pad_token_id,
        dropout=config.hidden_dropout_prob,
        attention_dropout=config.attention_probs_dropout_prob,
        initializer_range=config.initializer_range,
        is_causal=config.is_decoder,
        has_cross_attention=config.add_cross_attention,
    )
    return TransformerSpec(**{**fields, **differences})
