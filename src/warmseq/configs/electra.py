"""ELECTRA's config.json fields: BERT's layout with embeddings of their own width (`embedding_size`)."""

from __future__ import annotations

from typing import Any

from warmseq.configs.base import PretrainedConfig
from warmseq.configs.bert import bert_layout_spec
from warmseq.configs.spec import TransformerSpec


class ElectraConfig(PretrainedConfig):
    model_type = "electra"
    defaults: dict[str, Any] = {
        "vocab_size": 30522,
        "embedding_size": 128,
        "hidden_size": 256,
        "num_hidden_layers": 12,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "summary_type": "first",
        "summary_use_proj": True,
        "summary_activation": "gelu",
        "summary_last_dropout": 0.1,
        "pad_token_id": 0,
        "use_cache": True,
        "classifier_dropout": None,
    }

    def to_spec(self) -> TransformerSpec:
        # the generator's LM head: dense to embedding_size, gelu (whatever hidden_act says), LayerNorm
        return bert_layout_spec(self, embedding_size=self.embedding_size, lm_head_transform=True,
                                lm_head_activation="gelu")
