"""RoBERTa and XLM-RoBERTa as encoders (`RobertaModel`) and decoders (`RobertaForCausalLM`)."""

from __future__ import annotations

from warmseq.configs.roberta import RobertaConfig, XLMRobertaConfig
from warmseq.modeling.bert import BertModel
from warmseq.modeling.causal_lm import CausalLM


class RobertaModel(BertModel):
    """RoBERTa encoder: BERT's, pooler included (kept as buffers), with its own config and key names."""

    config_class = RobertaConfig
    base_model_prefix = "roberta"


class RobertaForCausalLM(CausalLM):
    config_class = RobertaConfig
    base_model_prefix = "roberta"


class XLMRobertaModel(RobertaModel):
    config_class = XLMRobertaConfig  # same model, other config defaults


class XLMRobertaForCausalLM(RobertaForCausalLM):
    config_class = XLMRobertaConfig  # same model, other config defaults
