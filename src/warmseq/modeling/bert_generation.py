"""BertGeneration as an encoder (`BertGenerationEncoder`) and a decoder (`BertGenerationDecoder`)."""

from __future__ import annotations

from warmseq.configs.bert_generation import BertGenerationConfig
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel


class BertGenerationEncoder(EncoderModel):
    config_class = BertGenerationConfig
    base_model_prefix = "bert"


class BertGenerationDecoder(CausalLM):
    config_class = BertGenerationConfig
    base_model_prefix = "bert"
