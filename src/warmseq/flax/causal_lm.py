"""Decoders: a causal transformer stack with cross-attention and a language-model head
(twin of modeling/causal_lm.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.spec import TransformerSpec
from warmseq.families import family_for
from warmseq.flax.block import activation_fn
from warmseq.flax.cache import DecoderCache
from warmseq.flax.dropout import DropoutRng, dropout_keys
from warmseq.flax.inputs import as_labels, as_mask, as_token_ids
from warmseq.flax.linear import Dtype, dense, layer_norm, normal
from warmseq.flax.outputs import FlaxCausalLMOutput
from warmseq.flax.pretrained import FlaxPreTrainedModel
from warmseq.flax.stack import TransformerStack


class LMHead(nnx.Module):
    """Hidden states -> vocabulary logits; the projection is the word embeddings unless untied."""

    def __init__(self, spec: TransformerSpec, tied: bool, dtype: Dtype, rngs: nnx.Rngs) -> None:
        h, width, std = spec.hidden_size, spec.embedding_width, spec.initializer_range
        self.activation = spec.lm_head_activation or spec.activation
        has_transform = spec.lm_head_transform  # ELECTRA's goes back down to the embedding width
        self.transform = dense(h, width, std, dtype, rngs) if has_transform else None
        self.transform_norm = layer_norm(width, spec.norm_eps, dtype, rngs) if has_transform else None
        # (vocab, width), as the word embeddings it replaces when untied
        self.weight = None if tied else nnx.Param(normal(std)(rngs.params(), (spec.vocab_size, width)))
        self.bias = nnx.Param(jnp.zeros(spec.vocab_size)) if spec.lm_head_bias else None

    def prepare(self, hidden: jax.Array) -> jax.Array:
        if self.transform is None:
            return hidden
        return self.transform_norm(activation_fn(self.activation)(self.transform(hidden)))


class FlaxCausalLM(FlaxPreTrainedModel):
    """Base of the decoder families; a family adds its config class."""

    uses_base_prefix = True

    def __init__(self, config: PretrainedConfig, seed: int = 0, dtype: Dtype = jnp.float32,
                 rngs: nnx.Rngs | None = None) -> None:
        self.config = config
        self.spec = config.to_spec()
        rngs = rngs or nnx.Rngs(seed)
        self.stack = TransformerStack(self.spec, dtype, rngs)
        self.lm_head = LMHead(self.spec, config.tie_word_embeddings, dtype, rngs)

    @property
    def has_cross_attention(self) -> bool:
        return self.spec.has_cross_attention

    @property
    def hidden_size(self) -> int:
        return self.spec.hidden_size

    def key_map(self) -> KeyMap:
        return family_for(self.config.model_type, type(self).__name__).decoder_key_map(
            self.spec, self.config.tie_word_embeddings)

    @property
    def shifts_labels(self) -> bool:
        """labels[i] is the target of logits[i - 1], unless the family's labels come pre-shifted (BART)."""
        return not family_for(self.config.model_type, type(self).__name__).labels_pre_shifted

    def output_weight(self) -> jax.Array:
        """(vocab, width) projection of the LM head."""
        weight = self.lm_head.weight if self.lm_head.weight is not None else self.stack.embeddings.tokens.embedding
        return weight.value

    def logits(self, hidden: jax.Array) -> jax.Array:
        """float32 logits (..., vocab), whatever the compute dtype."""
        x = self.lm_head.prepare(hidden)
        logits = jnp.einsum("...w,vw->...v", x, self.output_weight().astype(x.dtype))
        logits = logits.astype(jnp.float32)
        return logits + self.lm_head.bias.value if self.lm_head.bias is not None else logits

    def __call__(
        self,
        input_ids: jax.Array,
        attention_mask: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        labels: jax.Array | None = None,
        train: bool = False,
        dropout_rng: jax.Array | DropoutRng | None = None,
    ) -> FlaxCausalLMOutput:
        """Logits for every position; with `labels`, the next-token loss (labels shifted inside unless
        the family's `shifts_labels` is False)."""
        ids = as_token_ids(input_ids, "decoder input_ids", self.spec.vocab_size, self.spec.usable_positions)
        if encoder_hidden_states is not None and not self.has_cross_attention:
            raise ValueError(
                f"{type(self).__name__} was built without cross-attention (add_cross_attention=False) "
                "but received encoder_hidden_states"
            )
        hidden = self.stack(ids, as_mask(attention_mask, "attention_mask", ids), None, encoder_hidden_states,
                            encoder_attention_mask, rng=dropout_keys(train, dropout_rng))
        logits = self.logits(hidden)
        loss = None
        if labels is not None:
            labels = as_labels(labels, self.spec.vocab_size)
            scored, targets = (logits[:, :-1], labels[:, 1:]) if self.shifts_labels else (logits, labels)
            loss, _ = cross_entropy(scored, targets)
        return FlaxCausalLMOutput(loss=loss, logits=logits, hidden_states=hidden)

    # ---- cached decoding ------------------------------------------------------------------
    def init_cache(self, rows: int, capacity: int, memory: jax.Array, memory_mask: jax.Array | None) -> DecoderCache:
        return self.stack.init_cache(rows, capacity, memory, memory_mask)

    def decode(self, tokens: jax.Array, cache: DecoderCache) -> tuple[jax.Array, DecoderCache]:
        """Hidden states of the new tokens (rows, n, hidden) and the extended cache."""
        return self.stack.decode(tokens, cache)


def cross_entropy(logits: jax.Array, labels: jax.Array, reduction: str = "mean") -> tuple[jax.Array, jax.Array]:
    """Cross-entropy of `logits` (..., vocab) against `labels` (...), -100 ignored: (loss, counted tokens)."""
    counts = labels != -100
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    picked = jnp.take_along_axis(log_probs, jnp.where(counts, labels, 0)[..., None], axis=-1)[..., 0]
    total = -jnp.sum(jnp.where(counts, picked, 0.0))
    count = counts.sum()
    return (total / count if reduction == "mean" else total), count
