"""RoBERTa and XLM-RoBERTa as encoders (`RobertaModel`) and decoders (`RobertaForCausalLM`)."""

from __future__ import annotations

from warmseq.checkpoints.keymap import KeyMap
from warmseq.checkpoints.roberta import roberta_encoder_map, roberta_lm_map
from warmseq.configs.roberta import RobertaConfig, XLMRobertaConfig
from warmseq.modeling.bert import BertModel
from warmseq.modeling.causal_lm import CausalLM


class RobertaModel(BertModel):
    """RoBERTa encoder: BERT's, pooler included (kept as buffers), with its own config and key names."""

    config_class = RobertaConfig
    base_model_prefix = "roberta"

    def key_map(self) -> KeyMap:
        return roberta_encoder_map(self.spec)


class RobertaForCausalLM(CausalLM):
    config_class = RobertaConfig
    base_model_prefix = "roberta"

    def key_map(self) -> KeyMap:
        return roberta_lm_map(self.spec, self.config.tie_word_embeddings)


class XLMRobertaModel(RobertaModel):
    config_class = XLMRobertaConfig  # same model, other config defaults


class XLMRobertaForCausalLM(RobertaForCausalLM):
    config_class = XLMRobertaConfig  # same model, other config defaults
