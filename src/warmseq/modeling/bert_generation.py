"""BertGeneration as an encoder (`BertGenerationEncoder`) and a decoder (`BertGenerationDecoder`)."""

from __future__ import annotations

from warmseq.checkpoints.bert_generation import bert_generation_encoder_map, bert_generation_lm_map
from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.bert_generation import BertGenerationConfig
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel


class BertGenerationEncoder(EncoderModel):
    config_class = BertGenerationConfig
    base_model_prefix = "bert"

    def key_map(self) -> KeyMap:
        return bert_generation_encoder_map(self.spec)


class BertGenerationDecoder(CausalLM):
    config_class = BertGenerationConfig
    base_model_prefix = "bert"

    def key_map(self) -> KeyMap:
        return bert_generation_lm_map(self.spec, self.config.tie_word_embeddings)
