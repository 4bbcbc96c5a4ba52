"""What models return: dataclasses readable by attribute, key or position (as the original API allows)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import tensorflow as tf


class ModelOutput:
    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None)

    def __getitem__(self, key: int | str) -> Any:
        return getattr(self, key) if isinstance(key, str) else self.to_tuple()[key]

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


@dataclass
class TFBaseModelOutput(ModelOutput):
    last_hidden_state: tf.Tensor
    pooler_output: tf.Tensor | None = None


@dataclass
class TFCausalLMOutput(ModelOutput):
    loss: tf.Tensor | None = None
    logits: tf.Tensor | None = None
    hidden_states: tf.Tensor | None = None


@dataclass
class TFSeq2SeqLMOutput(ModelOutput):
    loss: tf.Tensor | None = None
    logits: tf.Tensor | None = None
    encoder_last_hidden_state: tf.Tensor | None = None
    num_target_tokens: tf.Tensor | None = None
