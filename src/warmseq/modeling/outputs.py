"""What models return: dataclasses readable by attribute, key or position (as the original API allows)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from torch import Tensor


class ModelOutput:
    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None)

    def __getitem__(self, key: int | str) -> Any:
        return getattr(self, key) if isinstance(key, str) else self.to_tuple()[key]

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


@dataclass
class BaseModelOutput(ModelOutput):
    last_hidden_state: Tensor
    pooler_output: Tensor | None = None


@dataclass
class CausalLMOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    hidden_states: Tensor | None = None


@dataclass
class Seq2SeqLMOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    encoder_last_hidden_state: Tensor | None = None
    num_target_tokens: Tensor | None = None
