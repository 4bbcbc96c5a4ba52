"""What the Flax models return: dataclasses readable by attribute, key or position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax

from warmseq.flax.cache import DecoderCache
from warmseq.modeling.outputs import ModelOutput


@jax.tree_util.register_dataclass
@dataclass
class FlaxBaseModelOutput(ModelOutput):
    last_hidden_state: jax.Array


@jax.tree_util.register_dataclass
@dataclass
class FlaxCausalLMOutput(ModelOutput):
    loss: jax.Array | None = None
    logits: jax.Array | None = None
    hidden_states: jax.Array | None = None
    past_key_values: DecoderCache | None = None


@jax.tree_util.register_dataclass
@dataclass
class FlaxSeq2SeqLMOutput(ModelOutput):
    loss: jax.Array | None = None
    logits: jax.Array | None = None
    encoder_last_hidden_state: jax.Array | None = None
    num_target_tokens: jax.Array | None = None


@dataclass
class FlaxGenerateOutput(ModelOutput):
    """sequences: (batch * returned per source, length) NumPy int32, start token included; sequences_scores:
    the length-penalised beam scores (beam search only)."""

    sequences: Any
    sequences_scores: Any = None
