"""A pretrained encoder joined to a pretrained decoder through cross-attention, on JAX with Flax NNX.

The twin of warmseq/modeling/encoder_decoder.py with the API of the original `FlaxEncoderDecoderModel`:
`FlaxEncoderDecoderModel(config, seed=0, dtype=jnp.float32)`, `encode`, `decode`, `init_cache`, `params`."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from warmseq.checkpoints.keymap import KeyMap, rename
from warmseq.configs.auto import AutoConfig
from warmseq.configs.encoder_decoder import EncoderDecoderConfig, label_shift_ids, split_part_kwargs
from warmseq.flax.attention import padding_mask
from warmseq.flax.cache import DecoderCache
from warmseq.flax.causal_lm import FlaxCausalLM, cross_entropy
from warmseq.flax.compiled import call_compiled, is_traced
from warmseq.flax.dropout import DropoutRng, dropout_keys
from warmseq.flax.encoder import FlaxEncoderModel
from warmseq.flax.families import decoder_class_for, encoder_class_for
from warmseq.flax.generate import generate
from warmseq.flax.inputs import as_labels, as_mask, as_token_ids
from warmseq.flax.linear import Dtype, dense
from warmseq.flax.outputs import FlaxBaseModelOutput, FlaxCausalLMOutput, FlaxGenerateOutput, FlaxSeq2SeqLMOutput
from warmseq.flax.pretrained import FlaxPreTrainedModel
from warmseq.flax.sharing import share_encoder_decoder_weights
from warmseq.generation.config import GenerationConfig
from warmseq.modeling.generate import (
    load_generation_config,
    save_generation_config,
)

logger = logging.getLogger("warmseq")


def shift_tokens_right(labels: jax.Array, pad_token_id: int, decoder_start_token_id: int) -> jax.Array:
    """Decoder inputs for teacher forcing: start token, then the labels shifted by one, -100 -> pad."""
    start = jnp.full((labels.shape[0], 1), decoder_start_token_id, labels.dtype)
    shifted = jnp.concatenate([start, labels[:, :-1]], axis=1)
    return jnp.where(shifted == -100, pad_token_id, shifted)


class FlaxEncoderDecoderModel(FlaxPreTrainedModel):
    """An encoder (`encoder`), a decoder with cross-attention (`decoder`) and, when their hidden sizes
    differ, a dense map between them (`enc_to_dec_proj`). `dtype` is the compute dtype; parameters stay float32."""

    config_class = EncoderDecoderConfig

    def __init__(self, config: EncoderDecoderConfig, seed: int = 0, dtype: Dtype = jnp.float32, *,
                 encoder: FlaxEncoderModel | None = None, decoder: FlaxCausalLM | None = None) -> None:
        if not isinstance(config, EncoderDecoderConfig):
            raise TypeError(f"config must be an EncoderDecoderConfig, got {type(config).__name__}")
        rngs = nnx.Rngs(seed)
        self.config = config
        self.encoder = encoder if encoder is not None else encoder_class_for(config.encoder)(
            config.encoder, dtype=dtype, rngs=rngs)
        self.decoder = decoder if decoder is not None else decoder_class_for(config.decoder)(
            config.decoder, dtype=dtype, rngs=rngs)
        if not self.decoder.has_cross_attention:
            raise ValueError(
                f"the decoder {type(self.decoder).__name__} has no cross-attention: build it with a config that has "
                "is_decoder=True and add_cross_attention=True (from_encoder_decoder_pretrained does this)"
            )
        # the parts read the pair's config, so one edit reaches both
        self.encoder.config, self.decoder.config = config.encoder, config.decoder
        share_encoder_decoder_weights(config, self.encoder, self.decoder)
        widths = self.encoder.hidden_size, self.decoder.hidden_size
        std = getattr(config.decoder, "initializer_range", 0.02)
        self.enc_to_dec_proj = dense(*widths, std, dtype, rngs) if widths[0] != widths[1] else None
        self.generation_config: GenerationConfig | None = None  # from generation_config.json by from_pretrained
        self.dtype = dtype

    # ---- checkpoint layout ------------------------------------------------------------------
    def key_map(self) -> KeyMap:
        key_map = self.encoder.key_map().prefixed("encoder.", "encoder.")
        key_map = key_map + self.decoder.key_map().prefixed("decoder.", "decoder.")
        if self.enc_to_dec_proj is not None:
            key_map = key_map + KeyMap((rename("enc_to_dec_proj.weight", "enc_to_dec_proj.weight"),
                                        rename("enc_to_dec_proj.bias", "enc_to_dec_proj.bias")))
        return key_map

    # ---- forward -----------------------------------------------------------------------------
    def encode(self, input_ids: jax.Array, attention_mask: jax.Array | None = None,
               token_type_ids: jax.Array | None = None, train: bool = False,
               dropout_rng: jax.Array | DropoutRng | None = None) -> FlaxBaseModelOutput:
        """The encoder's states (batch, src_len, encoder hidden), before any projection to the decoder's width."""
        arrays = dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                      dropout_rng=dropout_rng)
        if not is_traced(arrays):
            spec = self.encoder.spec
            arrays["input_ids"] = as_token_ids(input_ids, "input_ids", spec.vocab_size, spec.usable_positions)
            arrays["attention_mask"] = as_mask(attention_mask, "attention_mask", arrays["input_ids"])
            return call_compiled(self, "encode", arrays, dict(train=train))
        return self.encoder(input_ids, attention_mask, token_type_ids, train=train, dropout_rng=dropout_rng)

    def project_memory(self, hidden: jax.Array) -> jax.Array:
        return self.enc_to_dec_proj(hidden) if self.enc_to_dec_proj is not None else hidden

    def init_cache(self, batch_size: int, max_length: int, encoder_outputs: FlaxBaseModelOutput | jax.Array,
                   encoder_attention_mask: jax.Array | None = None) -> DecoderCache:
        """A decoder cache of `max_length` positions for `batch_size` rows (a multiple of the sources).

        Unlike the original, the cache holds each layer's cross-attention keys/values of `encoder_outputs`,
        computed here once, and the source padding mask."""
        memory = self.project_memory(last_hidden_state(encoder_outputs))
        mask = jnp.asarray(encoder_attention_mask) if encoder_attention_mask is not None else None
        return self.decoder.init_cache(batch_size, max_length, memory, mask)

    def decode(
        self,
        decoder_input_ids: jax.Array,
        encoder_outputs: FlaxBaseModelOutput | jax.Array,
        encoder_attention_mask: jax.Array | None = None,
        decoder_attention_mask: jax.Array | None = None,
        past_key_values: DecoderCache | None = None,
        train: bool = False,
        dropout_rng: jax.Array | DropoutRng | None = None,
    ) -> FlaxCausalLMOutput:
        """Decoder logits for `decoder_input_ids` over encoded sources. With `past_key_values` (from
        `init_cache`) the tokens continue the cached ones and the output carries the extended cache."""
        decoder = self.decoder
        ids = as_token_ids(decoder_input_ids, "decoder_input_ids", decoder.spec.vocab_size,
                           decoder.spec.usable_positions)
        arrays = dict(decoder_input_ids=ids, encoder_outputs=encoder_outputs,
                      encoder_attention_mask=encoder_attention_mask, decoder_attention_mask=decoder_attention_mask,
                      past_key_values=past_key_values, dropout_rng=dropout_rng)
        if not is_traced(arrays):
            arrays = {k: jax.tree_util.tree_map(jnp.asarray, v) for k, v in arrays.items()}
            return call_compiled(self, "decode", arrays, dict(train=train))
        if past_key_values is not None:
            cache = past_key_values
            if encoder_attention_mask is not None and cache.memory_mask is None:
                cache = DecoderCache(cache.self_kv, cache.memory_kv, padding_mask(jnp.asarray(encoder_attention_mask)),
                                     cache.position)
            hidden, cache = decoder.decode(ids, cache)
            return FlaxCausalLMOutput(logits=decoder.logits(hidden), hidden_states=hidden, past_key_values=cache)
        memory = self.project_memory(last_hidden_state(encoder_outputs))
        hidden = decoder.stack(ids, as_mask(decoder_attention_mask, "decoder_attention_mask", ids), None, memory,
                               encoder_attention_mask, rng=dropout_keys(train, dropout_rng))
        return FlaxCausalLMOutput(logits=decoder.logits(hidden), hidden_states=hidden)

    def __call__(
        self,
        input_ids: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        decoder_input_ids: jax.Array | None = None,
        decoder_attention_mask: jax.Array | None = None,
        encoder_outputs: FlaxBaseModelOutput | jax.Array | None = None,
        labels: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        loss_reduction: str = "mean",
        train: bool = False,
        dropout_rng: jax.Array | DropoutRng | None = None,
    ) -> FlaxSeq2SeqLMOutput:
        """Decoder logits and, with `labels`, the cross-entropy over tokens whose label is not -100.

        `decoder_input_ids` default to the labels shifted right after `config.decoder_start_token_id`, as on
        the PyTorch side. `train=True` applies dropout with keys from `dropout_rng` (a jax.random key)."""
        if loss_reduction not in ("mean", "sum"):
            raise ValueError(f"loss_reduction must be 'mean' or 'sum', got {loss_reduction!r}")
        arrays = dict(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                      decoder_attention_mask=decoder_attention_mask, encoder_outputs=encoder_outputs, labels=labels,
                      token_type_ids=token_type_ids, dropout_rng=dropout_rng)
        if not is_traced(arrays):
            return call_compiled(self, "__call__", self.checked_inputs(arrays),
                                 dict(loss_reduction=loss_reduction, train=train))
        rng = dropout_keys(train, dropout_rng)
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("pass input_ids (the source tokens) or encoder_outputs")
            encoder_outputs = self.encoder(input_ids, attention_mask, token_type_ids, train=train, dropout_rng=rng)
        if labels is not None:
            labels = as_labels(labels, self.decoder.spec.vocab_size)
            if decoder_input_ids is None:
                decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
                if decoder_attention_mask is None:
                    decoder_attention_mask = (decoder_input_ids != self.config.pad_token_id).astype(jnp.int32)
        if decoder_input_ids is None:
            raise ValueError("pass labels or decoder_input_ids: the decoder needs its input tokens")
        source_mask = None
        if attention_mask is not None:
            source_mask = jnp.asarray(attention_mask)
        out = self.decode(decoder_input_ids, encoder_outputs, source_mask, decoder_attention_mask,
                          train=train, dropout_rng=rng)
        loss = count = None
        if labels is not None:
            loss, count = cross_entropy(out.logits, labels, loss_reduction)
        return FlaxSeq2SeqLMOutput(loss=loss, logits=out.logits,
                                   encoder_last_hidden_state=last_hidden_state(encoder_outputs),
                                   num_target_tokens=count)

    def checked_inputs(self, arrays: dict[str, Any]) -> dict[str, Any]:
        """The arguments of a call as JAX arrays, token ids checked against the vocabularies and positions."""
        encoder, decoder = self.encoder.spec, self.decoder.spec
        out = {k: jax.tree_util.tree_map(jnp.asarray, v) for k, v in arrays.items()}
        if arrays["input_ids"] is not None:
            out["input_ids"] = as_token_ids(arrays["input_ids"], "input_ids", encoder.vocab_size,
                                            encoder.usable_positions)
            out["attention_mask"] = as_mask(arrays["attention_mask"], "attention_mask", out["input_ids"])
        if arrays["decoder_input_ids"] is not None:
            out["decoder_input_ids"] = as_token_ids(arrays["decoder_input_ids"], "decoder_input_ids",
                                                    decoder.vocab_size, decoder.usable_positions)
        if arrays["labels"] is not None:
            out["labels"] = as_labels(arrays["labels"], decoder.vocab_size)
        return out

    def prepare_decoder_input_ids_from_labels(self, labels: jax.Array) -> jax.Array:
        start, pad = label_shift_ids(self.config)
        return shift_tokens_right(labels, pad, start)

    # ---- generation ------------------------------------------------------------------------------
    def generate(self, input_ids: Any = None, attention_mask: Any = None, **kwargs: Any) -> FlaxGenerateOutput:
        """An output whose `sequences` hold the token ids (batch * num_return_sequences, length) for each source,
        start token included, as a NumPy array cut to the longest row (as the PyTorch side returns them; the
        original Flax class padded to max_length); `sequences_scores` for beam search.

        Greedy, beam search (`num_beams`) or sampling (`do_sample=True`, seeded by `prng_key=jax.random.key(n)`);
        keywords are `GenerationConfig` fields, `generation_config=` or `decoder_input_ids=`. The whole search is
        compiled by XLA once per shape and setting."""
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
        *,
        dtype: Dtype = jnp.float32,
        seed: int = 0,
        output_loading_info: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Warm-start a pair from an encoder checkpoint and a decoder checkpoint (folders or Hub ids).

        Keywords starting with `encoder_` / `decoder_` go to that part (`encoder_config=`, or config fields
        such as `decoder_max_position_embeddings=`); the rest set fields of the pair's config."""
        encoder_kwargs, decoder_kwargs = split_part_kwargs(kwargs)
        encoder, encoder_report = load_part(encoder_pretrained_model_name_or_path, encoder_kwargs, "encoder",
                                            dtype, seed)
        decoder, decoder_report = load_part(decoder_pretrained_model_name_or_path, decoder_kwargs, "decoder",
                                            dtype, seed + 1)
        config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config, **kwargs)
        model = cls(config, seed=seed, dtype=dtype, encoder=encoder, decoder=decoder)
        if output_loading_info:
            return model, {"encoder": encoder_report, "decoder": decoder_report}
        return model


def last_hidden_state(encoder_outputs: FlaxBaseModelOutput | tuple | jax.Array) -> jax.Array:
    if isinstance(encoder_outputs, FlaxBaseModelOutput):
        return encoder_outputs.last_hidden_state
    if isinstance(encoder_outputs, tuple | list):
        return encoder_outputs[0]
    return encoder_outputs


def load_part(name_or_path: str | os.PathLike | None, kwargs: dict[str, Any], role: str, dtype: Dtype,
              seed: int) -> tuple[Any, dict]:
    """Load the encoder or decoder of a pair, configured for its role."""
    model = kwargs.pop("model", None)
    if model is not None:
        return model, {}
    if name_or_path is None:
        raise ValueError(f"pass {role}_pretrained_model_name_or_path or {role}_model=")
    config = kwargs.pop("config", None) or AutoConfig.from_pretrained(name_or_path)
    config.update(kwargs)
    wanted = role == "decoder"
    if config.is_decoder != wanted or config.add_cross_attention != wanted:
        logger.info("%s config of %s: setting is_decoder=%s, add_cross_attention=%s", role,
                    os.fspath(name_or_path), wanted, wanted)
        config.is_decoder = config.add_cross_attention = wanted
    model_class = decoder_class_for(config) if wanted else encoder_class_for(config)
    return model_class.from_pretrained(name_or_path, config=config, dtype=dtype, seed=seed, output_loading_info=True)
