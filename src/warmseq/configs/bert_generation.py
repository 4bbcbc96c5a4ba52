"""BertGeneration's config.json fields: BERT's layout without token types or an LM-head transform."""

from __future__ import annotations

from typing import Any

from warmseq.configs.base import PretrainedConfig
from warmseq.configs.bert import bert_layout_spec
from warmseq.configs.spec import TransformerSpec


class BertGenerationConfig(PretrainedConfig):
    model_type = "bert-generation"
    defaults: dict[str, Any] = {
        "vocab_size": 50358,
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "bos_token_id": 2,
        "eos_token_id": 1,
        "use_cache": True,
    }

    def to_spec(self) -> TransformerSpec:
        return bert_layout_spec(self, type_vocab_size=0)
