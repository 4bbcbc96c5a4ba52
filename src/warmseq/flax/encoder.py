"""Encoders: a transformer stack that reads a whole source sequence at once (twin of modeling/encoder.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.base import PretrainedConfig
from warmseq.families import family_for
from warmseq.flax.dropout import DropoutRng, dropout_keys
from warmseq.flax.inputs import as_mask, as_token_ids
from warmseq.flax.linear import Dtype
from warmseq.flax.outputs import FlaxBaseModelOutput
from warmseq.flax.pretrained import FlaxPreTrainedModel
from warmseq.flax.stack import TransformerStack


class FlaxEncoderModel(FlaxPreTrainedModel):
    """Base of the encoder families; a family adds its config class."""

    def __init__(self, config: PretrainedConfig, seed: int = 0, dtype: Dtype = jnp.float32,
                 rngs: nnx.Rngs | None = None) -> None:
        self.config = config
        self.spec = config.to_spec()
        if config.is_decoder or self.spec.has_cross_attention:  # GPT-2 is causal yet may encode
            raise ValueError(
                f"{type(self).__name__} is an encoder, but its config has is_decoder={config.is_decoder}, "
                f"add_cross_attention={config.add_cross_attention}; use the family's causal-LM class as a decoder"
            )
        self.stack = TransformerStack(self.spec, dtype, rngs or nnx.Rngs(seed))

    @property
    def hidden_size(self) -> int:
        return self.spec.hidden_size

    def key_map(self) -> KeyMap:
        return family_for(self.config.model_type, type(self).__name__).encoder_key_map(self.spec)

    def __call__(self, input_ids: jax.Array, attention_mask: jax.Array | None = None,
                 token_type_ids: jax.Array | None = None, train: bool = False,
                 dropout_rng: jax.Array | DropoutRng | None = None) -> FlaxBaseModelOutput:
        ids = as_token_ids(input_ids, "input_ids", self.spec.vocab_size, self.spec.usable_positions)
        rng = dropout_keys(train, dropout_rng)
        hidden = self.stack(ids, as_mask(attention_mask, "attention_mask", ids), token_type_ids, rng=rng)
        return FlaxBaseModelOutput(last_hidden_state=hidden)

