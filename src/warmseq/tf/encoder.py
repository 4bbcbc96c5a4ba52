"""Encoders: a transformer stack that reads a whole source sequence at once; one class per family."""

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
from warmseq.families import family_for
from warmseq.tf.inputs import check_token_ids
from warmseq.tf.layers import normal
from warmseq.tf.outputs import TFBaseModelOutput
from warmseq.tf.pretrained import TFPreTrainedModel
from warmseq.tf.stack import TransformerStack


class TFEncoderModel(TFPreTrainedModel):
    """Base of the encoder families; a family sets its config class."""

    def __init__(self, config: PretrainedConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.spec = config.to_spec()
        if config.is_decoder or self.spec.has_cross_attention:  # GPT-2 is causal yet may encode
            raise ValueError(
                f"{type(self).__name__} is an encoder, but its config has is_decoder={config.is_decoder}, "
                f"add_cross_attention={config.add_cross_attention}; use the family's causal-LM class as a decoder"
            )
        self.family = family_for(config.model_type, type(self).__name__)
        self.stack = TransformerStack(self.spec, name="stack")
        self.pooler_weight = self.pooler_bias = None
        if self.has_pooler:  # loaded and saved, never trained (as on the PyTorch side)
            h = self.spec.hidden_size
            self.pooler_weight = self.add_weight(shape=(h, h), initializer=normal(self.spec.initializer_range),
                                                 trainable=False, name="pooler_weight")
            self.pooler_bias = self.add_weight(shape=(h,), initializer="zeros", trainable=False, name="pooler_bias")
        self.built = True  # every weight exists from here on

    def torch_names(self) -> dict[str, tuple[keras.Variable, bool]]:
        if self.pooler_weight is None:
            return {}
        return {"pooler_weight": (self.pooler_weight, False), "pooler_bias": (self.pooler_bias, False)}

    @property
    def hidden_size(self) -> int:
        return self.spec.hidden_size

    @property
    def has_pooler(self) -> bool:
        """Whether the family's checkpoints carry a pooler (BERT, RoBERTa): its key map says so."""
        return any(rule.ours == "pooler_weight" for rule in self.key_map().rules)

    def key_map(self) -> KeyMap:
        return self.family.encoder_key_map(self.spec)

    def get_input_embeddings(self) -> keras.layers.Layer:
        return self.stack.embeddings.tokens

    def call(self, input_ids: tf.Tensor, attention_mask: tf.Tensor | None = None,
             token_type_ids: tf.Tensor | None = None, training: bool = False, **unused: Any) -> TFBaseModelOutput:
        if token_type_ids is not None and not self.spec.type_vocab_size:
            raise ValueError(f"{type(self).__name__} does not take token_type_ids (no segment embeddings); "
                             "drop them from the tokenizer output (return_token_type_ids=False)")
        input_ids = check_token_ids(input_ids, "input_ids", self.spec.vocab_size, self.spec.usable_positions)
        hidden = self.stack(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            training=training)
        return TFBaseModelOutput(last_hidden_state=hidden)


class TFBertModel(TFEncoderModel):
    config_class = BertConfig


class TFRobertaModel(TFEncoderModel):
    config_class = RobertaConfig


class TFXLMRobertaModel(TFEncoderModel):
    config_class = XLMRobertaConfig


class TFElectraModel(TFEncoderModel):
    config_class = ElectraConfig


class TFBertGenerationEncoder(TFEncoderModel):
    config_class = BertGenerationConfig


class TFGPT2Model(TFEncoderModel):
    config_class = GPT2Config


class TFBartEncoder(TFEncoderModel):
    """BART's encoder stack, read and written in `BartModel`'s layout (see warmseq.modeling.bart)."""

    config_class = BartConfig

    def load_checkpoint_arrays(self, checkpoint: dict, source: str, ignore_mismatched_sizes: bool = False):
        from warmseq.modeling.bart import with_token_embeddings

        checkpoint = with_token_embeddings(checkpoint, ("shared.weight", "model.shared.weight"),
                                           ("encoder.embed_tokens.weight", "model.encoder.embed_tokens.weight"))
        return super().load_checkpoint_arrays(checkpoint, source, ignore_mismatched_sizes)


ENCODER_CLASSES: dict[str, type[TFEncoderModel]] = {
    cls.__name__: cls
    for cls in (TFBertModel, TFRobertaModel, TFXLMRobertaModel, TFElectraModel, TFBertGenerationEncoder,
                TFGPT2Model, TFBartEncoder)
}
