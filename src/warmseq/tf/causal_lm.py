"""Decoders: a causal transformer stack with cross-attention and a language-model head; one class per family."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs import (
    BartConfig,
    BertConfig,
    BertGenerationConfig,
    ElectraConfig,
    GPT2Config,
    PretrainedConfig,
    RobertaConfig,
    XLMRobertaConfig,
)
from warmseq.configs.spec import TransformerSpec
from warmseq.families import family_for
from warmseq.tf.block import activation_fn
from warmseq.tf.cache import DecoderCache
from warmseq.tf.inputs import check_token_ids
from warmseq.tf.layers import LayerNorm, Linear, normal
from warmseq.tf.losses import token_cross_entropy
from warmseq.tf.outputs import TFCausalLMOutput
from warmseq.tf.pretrained import TFPreTrainedModel
from warmseq.tf.stack import TransformerStack


class LMHead(keras.layers.Layer):
    """Hidden states -> vocabulary logits; the projection is the word embeddings unless untied."""

    def __init__(self, spec: TransformerSpec, tied: bool, **kw: Any) -> None:
        super().__init__(**kw)
        h, width, std = spec.hidden_size, spec.embedding_width, spec.initializer_range
        self.transform = self.transform_norm = None
        if spec.lm_head_transform:
            self.transform = Linear(h, width, std=std)  # ELECTRA: back down to the embedding width
            self.transform_norm = LayerNorm(width, spec.norm_eps)
            self.activation = activation_fn(spec.lm_head_activation or spec.activation)
        self.weight = None if tied else self.add_weight(shape=(spec.vocab_size, width), initializer=normal(std),
                                                        name="weight")
        self.bias = self.add_weight(shape=(spec.vocab_size,), initializer="zeros", name="bias") \
            if spec.lm_head_bias else None
        self.built = True

    def torch_names(self) -> dict[str, tuple[keras.Variable, bool]]:
        names = {"weight": (self.weight, False)} if self.weight is not None else {}
        return {**names, "bias": (self.bias, False)} if self.bias is not None else names

    def prepare(self, hidden: tf.Tensor) -> tf.Tensor:
        if self.transform is None:
            return hidden
        return self.transform_norm(self.activation(self.transform(hidden)))


class TFCausalLM(TFPreTrainedModel):
    """Base of the decoder families; a family sets its config class."""

    uses_base_prefix = True

    def __init__(self, config: PretrainedConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.spec = config.to_spec()
        self.family = family_for(config.model_type, type(self).__name__)
        self.stack = TransformerStack(self.spec, name="stack")
        self.lm_head = LMHead(self.spec, tied=config.tie_word_embeddings, name="lm_head")
        self.built = True  # every weight exists from here on

    @property
    def has_cross_attention(self) -> bool:
        return self.spec.has_cross_attention

    @property
    def hidden_size(self) -> int:
        return self.spec.hidden_size

    @property
    def shifts_labels(self) -> bool:
        """labels[i] is the target of logits[i - 1], unless the family's labels come pre-shifted (BART)."""
        return not self.family.labels_pre_shifted

    def key_map(self) -> KeyMap:
        return self.family.decoder_key_map(self.spec, self.config.tie_word_embeddings)

    def get_input_embeddings(self) -> keras.layers.Layer:
        return self.stack.embeddings.tokens

    def output_weight(self) -> keras.Variable:
        """(vocab, width) projection of the LM head."""
        return self.stack.embeddings.tokens.weight if self.lm_head.weight is None else self.lm_head.weight

    def logits(self, hidden: tf.Tensor) -> tf.Tensor:
        prepared = self.lm_head.prepare(hidden)
        logits = tf.einsum("...h,vh->...v", prepared, self.output_weight())
        return logits + self.lm_head.bias if self.lm_head.bias is not None else logits

    def call(
        self, input_ids: tf.Tensor, attention_mask: tf.Tensor | None = None,
        encoder_hidden_states: tf.Tensor | None = None, encoder_attention_mask: tf.Tensor | None = None,
        labels: tf.Tensor | None = None, training: bool = False, **unused: Any,
    ) -> TFCausalLMOutput:
        """Logits for every position; with `labels`, the next-token loss (shifted inside unless the family's
        `shifts_labels` is False)."""
        input_ids = check_token_ids(input_ids, "decoder input_ids", self.spec.vocab_size, self.spec.usable_positions)
        if encoder_hidden_states is not None and not self.has_cross_attention:
            raise ValueError(f"{type(self).__name__} was built without cross-attention (add_cross_attention=False) "
                             "but received encoder_hidden_states")
        hidden = self.stack(input_ids, attention_mask=attention_mask, memory=encoder_hidden_states,
                            memory_mask=encoder_attention_mask, training=training)
        logits = self.logits(hidden)
        loss = None
        if labels is not None:
            scored, targets = (logits[:, :-1], labels[:, 1:]) if self.shifts_labels else (logits, labels)
            total, count = token_cross_entropy(scored, targets)
            loss = total / tf.cast(tf.maximum(count, 1), total.dtype)
        return TFCausalLMOutput(loss=loss, logits=logits, hidden_states=hidden)

    # ---- cached decoding ------------------------------------------------------------------
    def new_cache(self, rows: int, capacity: int, memory: tf.Tensor, memory_mask: tf.Tensor) -> DecoderCache:
        return self.stack.new_cache(rows, capacity, memory, memory_mask)

    def decode_logits(self, tokens: tf.Tensor, position: tf.Tensor, cache: DecoderCache
                      ) -> tuple[tf.Tensor, DecoderCache]:
        """Logits (rows, vocab) of one new token per row at `position`, and the extended cache."""
        hidden, cache = self.stack.decode(tokens, position, cache)
        return self.logits(hidden), cache


class TFBertLMHeadModel(TFCausalLM):
    config_class = BertConfig


TFBertForCausalLM = TFBertLMHeadModel  # the other name the original uses for this model


class TFRobertaForCausalLM(TFCausalLM):
    config_class = RobertaConfig


class TFXLMRobertaForCausalLM(TFCausalLM):
    config_class = XLMRobertaConfig


class TFElectraForCausalLM(TFCausalLM):
    config_class = ElectraConfig


class TFBertGenerationDecoder(TFCausalLM):
    config_class = BertGenerationConfig


class TFGPT2LMHeadModel(TFCausalLM):
    config_class = GPT2Config


class TFBartForCausalLM(TFCausalLM):
    """BART's decoder stack with its LM head; `labels[:, i]` is the target of `logits[:, i]` (not shifted)."""

    config_class = BartConfig

    def __init__(self, config: BartConfig, **kwargs: Any) -> None:
        config.is_decoder = True  # as on the PyTorch side: this class is BART's decoder alone
        config.is_encoder_decoder = False
        super().__init__(config, **kwargs)

    def load_checkpoint_arrays(self, checkpoint: dict, source: str, ignore_mismatched_sizes: bool = False):
        from warmseq.modeling.bart import warn_if_final_logits_bias, with_token_embeddings

        checkpoint = with_token_embeddings(checkpoint, ("model.decoder.embed_tokens.weight",),
                                           ("model.shared.weight",))
        warn_if_final_logits_bias(checkpoint, source)
        return super().load_checkpoint_arrays(checkpoint, source, ignore_mismatched_sizes)


DECODER_CLASSES: dict[str, type[TFCausalLM]] = {
    cls.__name__: cls
    for cls in (TFBertLMHeadModel, TFRobertaForCausalLM, TFXLMRobertaForCausalLM, TFElectraForCausalLM,
                TFBertGenerationDecoder, TFGPT2LMHeadModel, TFBartForCausalLM)
}
