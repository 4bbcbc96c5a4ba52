"""Pick the model class for a config: the family record's encoder class or causal-LM (decoder) class."""

from __future__ import annotations

import os
from typing import Any

from warmseq.configs.auto import AutoConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.families import FAMILY_BY_TYPE, Family
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel


def _family(config: PretrainedConfig, role: str) -> Family:
    if config.model_type not in FAMILY_BY_TYPE:
        raise ValueError(
            f"model_type {config.model_type!r} cannot be used as {role} in warmseq; "
            f"supported: {sorted(FAMILY_BY_TYPE)}"
        )
    return FAMILY_BY_TYPE[config.model_type]


def family_class_name(model: object, role: str, fallback: str) -> str:
    """The name of the class of `model`'s family that plays `role` ("encoder" or "decoder"), for messages."""
    family = FAMILY_BY_TYPE.get(getattr(getattr(model, "config", None), "model_type", None))  # type: ignore[arg-type]
    if family is None:
        return fallback
    return family.encoder if role == "encoder" else family.decoder


def encoder_class_for(config: PretrainedConfig) -> type[EncoderModel]:
    return _family(config, "an encoder").encoder_class


def decoder_class_for(config: PretrainedConfig) -> type[CausalLM]:
    return _family(config, "a decoder").decoder_class


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
