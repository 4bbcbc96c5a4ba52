"""ELECTRA as an encoder (`ElectraModel`) and as a decoder with its generator head (`ElectraForCausalLM`)."""

from __future__ import annotations

from warmseq.configs.electra import ElectraConfig
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel


class ElectraModel(EncoderModel):
    config_class = ElectraConfig
    base_model_prefix = "electra"


class ElectraForCausalLM(CausalLM):
    config_class = ElectraConfig
    base_model_prefix = "electra"
