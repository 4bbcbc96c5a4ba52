"""Pick a config class by the `model_type` written in config.json."""

from __future__ import annotations

import os
from typing import Any

from warmseq.configs.base import CONFIG_NAME, PretrainedConfig, build_from_file, read_config_file
from warmseq.hub import resolve_file

CONFIG_CLASSES: dict[str, type[PretrainedConfig]] = {}


def register_config(cls: type[PretrainedConfig]) -> type[PretrainedConfig]:
    CONFIG_CLASSES[cls.model_type] = cls
    return cls


def config_class_for(model_type: str | None, where: str) -> type[PretrainedConfig]:
    if model_type is None:
        raise ValueError(f"{where}: no 'model_type' field; expected one of {sorted(CONFIG_CLASSES)}")
    if model_type not in CONFIG_CLASSES:
        raise ValueError(
            f"{where}: model_type {model_type!r} is not supported by warmseq; supported: {sorted(CONFIG_CLASSES)}"
        )
    return CONFIG_CLASSES[model_type]


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
