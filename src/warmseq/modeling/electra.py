"""ELECTRA as an encoder (`ElectraModel`) and as a decoder with its generator head (`ElectraForCausalLM`)."""

from __future__ import annotations

from warmseq.checkpoints.electra import electra_encoder_map, electra_lm_map
from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.electra import ElectraConfig
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel


class ElectraModel(EncoderModel):
    config_class = ElectraConfig
    base_model_prefix = "electra"

    def key_map(self) -> KeyMap:
        return electra_encoder_map(self.spec)


class ElectraForCausalLM(CausalLM):
    config_class = ElectraConfig
    base_model_prefix = "electra"

    def key_map(self) -> KeyMap:
        return electra_lm_map(self.spec, self.config.tie_word_embeddings)
