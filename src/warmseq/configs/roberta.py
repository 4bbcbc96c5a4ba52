"""RoBERTa's and XLM-RoBERTa's config.json fields: BERT's layout with positions that skip padding."""

from __future__ import annotations

from typing import Any

from warmseq.configs.base import PretrainedConfig
from warmseq.configs.bert import bert_layout_spec
from warmseq.configs.spec import TransformerSpec


class RobertaConfig(PretrainedConfig):
    model_type = "roberta"
    defaults: dict[str, Any] = {
        "vocab_size": 50265,
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
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "use_cache": True,
        "classifier_dropout": None,
    }

    def to_spec(self) -> TransformerSpec:
        # positions count from pad + 1 and padding keeps the pad row (fairseq's make_positions);
        # the LM head's activation is gelu whatever hidden_act says
        return bert_layout_spec(self, position_offset=self.pad_token_id + 1, positions_skip_padding=True,
                                lm_head_transform=True, lm_head_activation="gelu")


class XLMRobertaConfig(RobertaConfig):
    model_type = "xlm-roberta"
    defaults: dict[str, Any] = {**RobertaConfig.defaults, "vocab_size": 30522}
