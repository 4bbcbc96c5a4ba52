"""Pick a config class by the `model_type` written in config.json (the family records decide)."""

from __future__ import annotations

import os
from typing import Any

from warmseq.configs.base import CONFIG_NAME, PretrainedConfig, build_from_file, read_config_file
from warmseq.hub import resolve_file


def config_class_for(model_type: str | None, where: str) -> type[PretrainedConfig]:
    """The config class of a family record, or EncoderDecoderConfig for a pair."""
    # imported here: the records import the config classes, and the pair's config imports this module
    from warmseq.configs.encoder_decoder import EncoderDecoderConfig
    from warmseq.families import family_for

    if model_type == EncoderDecoderConfig.model_type:
        return EncoderDecoderConfig
    return family_for(model_type, where).config_class


def config_from_dict(data: dict[str, Any], where: str = "config") -> PretrainedConfig:
    return config_class_for(data.get("model_type"), where).from_dict(data)


class AutoConfig:
    """`AutoConfig.from_pretrained(path)` returns the config class named by the file's `model_type`."""

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, **overrides: Any) -> PretrainedConfig:
        path = resolve_file(name_or_path, CONFIG_NAME)
        data = read_config_file(path)
        return build_from_file(config_class_for(data.get("model_type"), str(path)), data, path, overrides)

    @staticmethod
    def for_model(model_type: str, **fields: Any) -> PretrainedConfig:
        return config_class_for(model_type, "AutoConfig.for_model")(**fields)
