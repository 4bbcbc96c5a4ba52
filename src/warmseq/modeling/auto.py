"""Pick the model class for a config: an encoder class and a causal-LM (decoder) class per family."""

from __future__ import annotations

import os
from typing import Any

from warmseq.configs.auto import AutoConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.modeling.bart import BartEncoder, BartForCausalLM
from warmseq.modeling.bert import BertLMHeadModel, BertModel
from warmseq.modeling.bert_generation import BertGenerationDecoder, BertGenerationEncoder
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.electra import ElectraForCausalLM, ElectraModel
from warmseq.modeling.encoder import EncoderModel
from warmseq.modeling.gpt2 import GPT2LMHeadModel, GPT2Model
from warmseq.modeling.roberta import RobertaForCausalLM, RobertaModel, XLMRobertaForCausalLM, XLMRobertaModel

ENCODER_CLASSES: dict[str, type[EncoderModel]] = {
    "bert": BertModel,
    "gpt2": GPT2Model,
    "bart": BartEncoder,  # the encoder stack; the original puts its whole BartModel here
    "roberta": RobertaModel,
    "xlm-roberta": XLMRobertaModel,
    "electra": ElectraModel,
    "bert-generation": BertGenerationEncoder,
}
DECODER_CLASSES: dict[str, type[CausalLM]] = {
    "bert": BertLMHeadModel,
    "gpt2": GPT2LMHeadModel,
    "bart": BartForCausalLM,
    "roberta": RobertaForCausalLM,
    "xlm-roberta": XLMRobertaForCausalLM,
    "electra": ElectraForCausalLM,
    "bert-generation": BertGenerationDecoder,
}


def _pick(table: dict[str, type], config: PretrainedConfig, role: str) -> type:
    if config.model_type not in table:
        raise ValueError(
            f"model_type {config.model_type!r} cannot be used as {role} in warmseq; "
            f"supported: {sorted(table)}"
        )
    return table[config.model_type]


def family_class_name(model: object, role: str, fallback: str) -> str:
    """The name of the class of `model`'s family that plays `role` ("encoder" or "decoder"), for messages."""
    table = ENCODER_CLASSES if role == "encoder" else DECODER_CLASSES
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    return table[model_type].__name__ if model_type in table else fallback


def encoder_class_for(config: PretrainedConfig) -> type[EncoderModel]:
    return _pick(ENCODER_CLASSES, config, "an encoder")


def decoder_class_for(config: PretrainedConfig) -> type[CausalLM]:
    return _pick(DECODER_CLASSES, config, "a decoder")


class AutoModel:
    """The encoder class of a config's family."""

    @staticmethod
    def from_config(config: PretrainedConfig) -> EncoderModel:
        return encoder_class_for(config)(config)

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, **kwargs: Any) -> EncoderModel:
        config = kwargs.pop("config", None) or AutoConfig.from_pretrained(name_or_path, **kwargs)
        return encoder_class_for(config).from_pretrained(name_or_path, config=config)


class AutoModelForCausalLM:
    """The decoder (causal LM) class of a config's family."""

    @staticmethod
    def from_config(config: PretrainedConfig) -> CausalLM:
        return decoder_class_for(config)(config)

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, **kwargs: Any) -> CausalLM:
        config = kwargs.pop("config", None) or AutoConfig.from_pretrained(name_or_path, **kwargs)
        return decoder_class_for(config).from_pretrained(name_or_path, config=config)
