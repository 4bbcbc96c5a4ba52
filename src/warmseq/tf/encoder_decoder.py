"""A pretrained encoder joined to a pretrained decoder through cross-attention, as a Keras model."""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from warmseq.checkpoints.keymap import KeyMap, rename
from warmseq.configs.auto import AutoConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.encoder_decoder import EncoderDecoderConfig, label_shift_ids, split_part_kwargs
from warmseq.families import family_for
from warmseq.generation.config import GenerationConfig
from warmseq.modeling.generate import (
    load_generation_config,
    save_generation_config,
)
from warmseq.tf.causal_lm import DECODER_CLASSES, TFCausalLM
from warmseq.tf.encoder import ENCODER_CLASSES, TFEncoderModel
from warmseq.tf.inputs import check_labels, check_token_ids
from warmseq.tf.layers import Linear
from warmseq.tf.losses import token_cross_entropy
from warmseq.tf.outputs import TFBaseModelOutput, TFSeq2SeqLMOutput
from warmseq.tf.pretrained import TFPreTrainedModel
from warmseq.tf.sharing import share_encoder_decoder_weights
from warmseq.tf.training import TrainStep

logger = logging.getLogger("warmseq")
CALL_ARGUMENTS = ("input_ids", "attention_mask", "decoder_input_ids", "decoder_attention_mask", "encoder_outputs",
                  "labels", "token_type_ids", "loss_reduction", "label_smoothing", "return_logits", "training")


def encoder_class_for(config: PretrainedConfig) -> type[TFEncoderModel]:
    """The TF twin of the family record's encoder class ("TF" + `BertModel`, ...)."""
    return ENCODER_CLASSES["TF" + family_for(config.model_type, "warmseq's TF port").encoder]


def decoder_class_for(config: PretrainedConfig) -> type[TFCausalLM]:
    """The TF twin of the family record's causal-LM class ("TF" + `BertLMHeadModel`, ...)."""
    return DECODER_CLASSES["TF" + family_for(config.model_type, "warmseq's TF port").decoder]


def shift_tokens_right(labels: tf.Tensor, pad_token_id: int, decoder_start_token_id: int) -> tf.Tensor:
    """Decoder inputs for teacher forcing: start token, then the labels shifted by one, -100 -> pad."""
    start = tf.fill((tf.shape(labels)[0], 1), tf.constant(decoder_start_token_id, labels.dtype))
    shifted = tf.concat([start, labels[:, :-1]], axis=1)
    return tf.where(shifted == -100, tf.constant(pad_token_id, labels.dtype), shifted)


class TFEncoderDecoderModel(TrainStep, TFPreTrainedModel):
    """An encoder (`encoder`), a decoder with cross-attention (`decoder`) and, when their hidden sizes
    differ, a linear map between them (`enc_to_dec_proj`). Reads and writes the PyTorch side's files."""

    config_class = EncoderDecoderConfig

    def __init__(self, config: EncoderDecoderConfig | None = None, encoder: TFEncoderModel | None = None,
                 decoder: TFCausalLM | None = None, **kwargs: Any) -> None:
        if config is None:
            if encoder is None or decoder is None:
                raise ValueError("TFEncoderDecoderModel needs a config, or both an encoder and a decoder")
            config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config)
        if not isinstance(config, EncoderDecoderConfig):
            raise TypeError(f"config must be an EncoderDecoderConfig, got {type(config).__name__}")
        super().__init__(config, **kwargs)
        encoder = encoder if encoder is not None else encoder_class_for(config.encoder)(config.encoder)
        decoder = decoder if decoder is not None else decoder_class_for(config.decoder)(config.decoder)
        check_pair(encoder, decoder)
        self.encoder, self.decoder = encoder, decoder
        self.config = config  # now reaches the parts too
        share_encoder_decoder_weights(config, encoder, decoder)
        self.enc_to_dec_proj = None
        if encoder.hidden_size != decoder.hidden_size:
            std = getattr(config.decoder, "initializer_range", 0.02)
            self.enc_to_dec_proj = Linear(encoder.hidden_size, decoder.hidden_size, std=std, name="enc_to_dec_proj")
        self.built = True  # every weight exists from here on
        self.generation_config: GenerationConfig | None = None

    @property
    def config(self) -> EncoderDecoderConfig:
        return self._pair_config

    @config.setter
    def config(self, config: EncoderDecoderConfig) -> None:
        # the parts read the pair's config, so one edit (or `model.config = other.config`) reaches both
        self._pair_config = config
        for part, sub in (("encoder", "encoder"), ("decoder", "decoder")):
            if part in vars(self):
                getattr(self, part).config = getattr(config, sub)

    # ---- checkpoint layout ------------------------------------------------------------------
    def key_map(self) -> KeyMap:
        key_map = self.encoder.key_map().prefixed("encoder.", "encoder.")
        key_map = key_map + self.decoder.key_map().prefixed("decoder.", "decoder.")
        if self.enc_to_dec_proj is not None:
            key_map = key_map + KeyMap((rename("enc_to_dec_proj.weight", "enc_to_dec_proj.weight"),
                                        rename("enc_to_dec_proj.bias", "enc_to_dec_proj.bias")))
        return key_map

    def get_encoder(self) -> TFEncoderModel:
        return self.encoder

    def get_decoder(self) -> TFCausalLM:
        return self.decoder

    def get_input_embeddings(self) -> keras.layers.Layer:
        return self.encoder.get_input_embeddings()

    # ---- forward -----------------------------------------------------------------------------
    def encode(self, input_ids: tf.Tensor, attention_mask: tf.Tensor | None = None,
               training: bool = False) -> tf.Tensor:
        """Encoder states as the decoder's cross-attention reads them (projected if sizes differ)."""
        hidden = self.encoder(input_ids, attention_mask=attention_mask, training=training).last_hidden_state
        return self.project_memory(hidden)

    def project_memory(self, hidden: tf.Tensor) -> tf.Tensor:
        return self.enc_to_dec_proj(hidden) if self.enc_to_dec_proj is not None else hidden

    def call(
        self,
        input_ids: tf.Tensor | dict | None = None,
        attention_mask: tf.Tensor | None = None,
        decoder_input_ids: tf.Tensor | None = None,
        decoder_attention_mask: tf.Tensor | None = None,
        encoder_outputs: TFBaseModelOutput | tuple | None = None,
        labels: tf.Tensor | None = None,
        token_type_ids: tf.Tensor | None = None,
        loss_reduction: str = "mean",
        label_smoothing: float = 0.0,
        return_logits: bool = True,
        training: bool = False,
        **unused: Any,
    ) -> TFSeq2SeqLMOutput:
        """Logits of the decoder and, with `labels`, the cross-entropy over tokens whose label is not -100.

        `input_ids` may be a dict of these arguments (what `fit` passes). `decoder_input_ids` default to
        the labels shifted right after `config.decoder_start_token_id`. `loss_reduction="sum"` returns the
        summed loss and `num_target_tokens` (for normalising over replicas or accumulated batches)."""
        if isinstance(input_ids, dict):
            inputs = dict(input_ids)
            reject_unknown_arguments(inputs)
            settings = dict(loss_reduction=loss_reduction, label_smoothing=label_smoothing,
                            return_logits=return_logits, training=training)
            return self.call(**{**settings, **inputs, **unused})
        reject_unknown_arguments(unused)
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("pass input_ids (the source tokens) or encoder_outputs")
            encoder_outputs = self.encoder(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                                            training=training)
        elif isinstance(encoder_outputs, tuple | list):
            encoder_outputs = TFBaseModelOutput(last_hidden_state=encoder_outputs[0])
        memory = self.project_memory(encoder_outputs.last_hidden_state)
        if labels is not None:
            labels = check_labels(labels, self.decoder.spec.vocab_size)
            if decoder_input_ids is None:
                decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
                if decoder_attention_mask is None:
                    decoder_attention_mask = tf.cast(decoder_input_ids != self.config.pad_token_id, tf.int32)
        if decoder_input_ids is None:
            raise ValueError("pass labels or decoder_input_ids: the decoder needs its input tokens")
        spec = self.decoder.spec
        decoder_input_ids = check_token_ids(decoder_input_ids, "decoder_input_ids", spec.vocab_size,
                                            spec.usable_positions)
        hidden = self.decoder.stack(decoder_input_ids, attention_mask=decoder_attention_mask, memory=memory,
                                    memory_mask=attention_mask, training=training)
        logits = self.decoder.logits(hidden) if return_logits or labels is None else None
        loss = count = None
        if labels is not None:
            if loss_reduction not in ("mean", "sum"):
                raise ValueError(f"loss_reduction must be 'mean' or 'sum', got {loss_reduction!r}")
            scored = logits if logits is not None else self.decoder.logits(hidden)
            loss, count = token_cross_entropy(scored, labels, label_smoothing)
            if loss_reduction == "mean":
                loss = loss / tf.cast(tf.maximum(count, 1), loss.dtype)
        return TFSeq2SeqLMOutput(loss=loss, logits=logits, encoder_last_hidden_state=encoder_outputs.last_hidden_state,
                                 num_target_tokens=count)

    def prepare_decoder_input_ids_from_labels(self, labels: tf.Tensor) -> tf.Tensor:
        start, pad = label_shift_ids(self.config)
        return shift_tokens_right(labels, pad, start)

    # ---- generation ------------------------------------------------------------------------------
    def generate(self, input_ids: Any = None, attention_mask: Any = None, **kwargs: Any) -> Any:
        """Token ids (batch * num_return_sequences, length) for each source, start token included.

        Greedy search, beam search (`num_beams`) or sampling (`do_sample=True`) with the same
        `GenerationConfig` as the PyTorch side; `seed=` seeds sampling. Runs as one XLA-compiled program
        per input shape and settings (`jit_compile=False` runs it as a plain TF graph)."""
        from warmseq.tf.generate import generate

        input_ids = kwargs.pop("inputs", input_ids)
        if input_ids is None:
            raise ValueError("generate() needs input_ids: the source token ids, shape (batch, length)")
        return generate(self, input_ids, attention_mask, **kwargs)

    def save_extra_files(self, folder: Path) -> None:
        save_generation_config(self, folder)

    def after_load(self, name_or_path: str | os.PathLike) -> None:
        load_generation_config(self, name_or_path)

    # ---- building from pretrained parts ------------------------------------------------------
    @classmethod
    def from_encoder_decoder_pretrained(
        cls,
        encoder_pretrained_model_name_or_path: str | os.PathLike | None = None,
        decoder_pretrained_model_name_or_path: str | os.PathLike | None = None,
        output_loading_info: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Warm-start a pair from an encoder checkpoint and a decoder checkpoint (PyTorch-saved folders).

        Keywords starting with `encoder_` / `decoder_` go to that part (`encoder_model=`, `decoder_config=`,
        `encoder_from_pt=True`, or config fields); the rest set fields of the pair's config."""
        encoder_kwargs, decoder_kwargs = split_part_kwargs(kwargs)
        encoder, encoder_report = load_part(encoder_pretrained_model_name_or_path, encoder_kwargs, "encoder")
        decoder, decoder_report = load_part(decoder_pretrained_model_name_or_path, decoder_kwargs, "decoder")
        config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config, **kwargs)
        model = cls(config=config, encoder=encoder, decoder=decoder)
        if output_loading_info:
            return model, {"encoder": encoder_report, "decoder": decoder_report}
        return model


def load_part(name_or_path: str | os.PathLike | None, kwargs: dict[str, Any], role: str) -> tuple[Any, dict]:
    """Load the encoder or decoder of a pair, configured for its role."""
    model = kwargs.pop("model", None)
    if model is not None:
        return model, {}
    if name_or_path is None:
        raise ValueError(f"pass {role}_pretrained_model_name_or_path or {role}_model=")
    kwargs.pop("from_pt", None)  # PyTorch checkpoints are what this class reads anyway
    config: PretrainedConfig = kwargs.pop("config", None) or AutoConfig.from_pretrained(name_or_path)
    config.update(kwargs)
    wanted = role == "decoder"
    if config.is_decoder != wanted or config.add_cross_attention != wanted:
        logger.info("%s config of %s: setting is_decoder=%s, add_cross_attention=%s", role,
                    os.fspath(name_or_path), wanted, wanted)
        config.is_decoder = config.add_cross_attention = wanted
    model_class = decoder_class_for(config) if wanted else encoder_class_for(config)
    return model_class.from_pretrained(name_or_path, config=config, output_loading_info=True)


def check_pair(encoder: Any, decoder: Any) -> None:
    if not isinstance(encoder, TFEncoderModel):
        raise ValueError(f"the encoder is a {type(encoder).__name__}; expected a warmseq TF encoder without an "
                         "LM head (e.g. TFBertModel)")
    if not isinstance(decoder, TFCausalLM):
        raise ValueError(f"the decoder is a {type(decoder).__name__}; expected a warmseq TF causal LM "
                         "(e.g. TFBertLMHeadModel)")
    if not decoder.has_cross_attention:
        raise ValueError(
            f"the decoder {type(decoder).__name__} has no cross-attention: build it with a config that has "
            "is_decoder=True and add_cross_attention=True (from_encoder_decoder_pretrained does this)"
        )


def reject_unknown_arguments(unused: dict[str, Any]) -> None:
    tolerated = {"use_cache", "output_attentions", "output_hidden_states", "return_dict", "num_items_in_batch"}
    for name in unused:
        if name not in tolerated and name not in CALL_ARGUMENTS:
            close = difflib.get_close_matches(name, CALL_ARGUMENTS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"TFEncoderDecoderModel.call got an unexpected argument {name!r}{hint}")
