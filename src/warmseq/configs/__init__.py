"""config.json in and out, for every family and for encoder-decoder pairs.

The family config classes (`BertConfig`, `GPT2Config`, ...) are those of the records in
warmseq/families.py, looked up there on first use."""

from typing import Any

from warmseq.configs.auto import AutoConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.encoder_decoder import EncoderDecoderConfig
from warmseq.configs.spec import TransformerSpec

__all__ = ["AutoConfig", "EncoderDecoderConfig", "PretrainedConfig", "TransformerSpec"]


def __getattr__(name: str) -> Any:
    # imported here: the records import this package's config modules
    from warmseq.families import config_names

    configs = config_names()
    if name in configs:
        return configs[name]
    raise AttributeError(f"module 'warmseq.configs' has no attribute {name!r}")


def __dir__() -> list[str]:
    from warmseq.families import config_names

    return sorted([*globals(), *config_names()])
