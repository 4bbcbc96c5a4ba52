"""RoBERTa's and XLM-RoBERTa's config.json fields: BERT's layout with positions that skip padding."""

from __future__ import annotations

from typing import Any

from warmseq.configs.base import PretrainedConfig
from warmseq.configs.bert import BertConfig, bert_layout_spec
from warmseq.configs.spec import TransformerSpec


class RobertaConfig(PretrainedConfig):
    model_type = "roberta"
    defaults: dict[str, Any] = {
        **BertConfig.defaults,
        "vocab_size": 50265,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
    }

    def to_spec(self) -> TransformerSpec:
        # positions count from pad + 1 and padding keeps the pad row (fairseq's make_positions);
        # the LM head's activation is gelu whatever hidden_act says
        return bert_layout_spec(self, position_offset=self.pad_token_id + 1, positions_skip_padding=True,
                                lm_head_transform=True, lm_head_activation="gelu")


class XLMRobertaConfig(RobertaConfig):
    model_type = "xlm-roberta"
    defaults: dict[str, Any] = {**RobertaConfig.defaults, "vocab_size": 30522}
