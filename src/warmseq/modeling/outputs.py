"""What models return: dataclasses readable by attribute, key or position (as the original API allows)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from torch import Tensor


class ModelOutput:
    """Fields that are None are absent: from positions, `keys()` and `in`, as in the original API."""

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None)

    def __getitem__(self, key: int | str) -> Any:
        return getattr(self, key) if isinstance(key, str) else self.to_tuple()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


@dataclass
class StackRecord:
    """What a transformer stack collects when asked (`output_hidden_states`, `output_attentions`).

    hidden_states: the embeddings' output, then each layer's output (the last one after the final norm,
        GPT-2's ln_f), (batch, seq, hidden) each: layers + 1 tensors.
    attentions, cross_attentions: one (batch, heads, seq, keys) tensor of softmax weights per layer.
    A list is None when it was not asked for."""

    hidden_states: list[Tensor] | None
    attentions: list[Tensor] | None
    cross_attentions: list[Tensor] | None

    @classmethod
    def asked(cls, hidden_states: bool, attentions: bool) -> StackRecord | None:
        """A fresh record, or None when nothing is asked (the stack then takes its fast path)."""
        if not (hidden_states or attentions):
            return None
        return cls([] if hidden_states else None, [] if attentions else None, [] if attentions else None)

    def layer(self, x: Tensor, self_weights: Tensor, cross_weights: Tensor | None) -> None:
        """Record a layer's input `x` and its attention weights."""
        if self.hidden_states is not None:
            self.hidden_states.append(x)
        if self.attentions is not None:
            self.attentions.append(self_weights)
            if cross_weights is not None:
                self.cross_attentions.append(cross_weights)

    def last(self, x: Tensor) -> None:
        """Record the stack's output."""
        if self.hidden_states is not None:
            self.hidden_states.append(x)


def as_tuple(tensors: list[Tensor] | None) -> tuple[Tensor, ...] | None:
    return tuple(tensors) if tensors else None


def resolve_flag(value: bool | None, config: Any, name: str) -> bool:
    """An `output_*` argument, or the config's field of that name when the argument is None."""
    return bool(getattr(config, name, False)) if value is None else bool(value)


@dataclass
class BaseModelOutput(ModelOutput):
    last_hidden_state: Tensor
    pooler_output: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class CausalLMOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None
    cross_attentions: tuple[Tensor, ...] | None = None


@dataclass
class Seq2SeqLMOutput(ModelOutput):
    """The original's field order; `num_target_tokens` (warmseq's) comes with `loss_reduction="sum"`."""

    loss: Tensor | None = None
    logits: Tensor | None = None
    decoder_hidden_states: tuple[Tensor, ...] | None = None
    decoder_attentions: tuple[Tensor, ...] | None = None
    cross_attentions: tuple[Tensor, ...] | None = None
    encoder_last_hidden_state: Tensor | None = None
    encoder_hidden_states: tuple[Tensor, ...] | None = None
    encoder_attentions: tuple[Tensor, ...] | None = None
    num_target_tokens: Tensor | None = None
