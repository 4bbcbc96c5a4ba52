"""`generate()` for the Flax encoder-decoder: the whole search (encoding included) compiled by XLA.

The twin of warmseq/modeling/generate.py. Settings are resolved exactly as on the PyTorch side (same
`GenerationConfig`, same checks and messages); the search runs in `lax.while_loop` over a fixed-size
cache whose cross-attention keys/values are computed once per source and shared by its beams. One
compiled program is kept per model, setting and input shape."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from warmseq.flax.cache import DecoderCache, expand_rows
from warmseq.flax.generation.beam import BeamSettings, beam_search
from warmseq.flax.generation.greedy import Limits, greedy_search
from warmseq.flax.generation.logits import build_transforms
from warmseq.flax.inputs import as_token_ids
from warmseq.flax.outputs import FlaxGenerateOutput
from warmseq.generation.config import GenerationConfig
from warmseq.generation.driver import beam_fill_value, resolve_limits
from warmseq.modeling.generate import resolve_generation_config

if TYPE_CHECKING:
    from warmseq.flax.encoder_decoder import FlaxEncoderDecoderModel

# model -> {settings key -> compiled search}; jax.jit keeps one program per input shape under each
COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def frozen(value: Any) -> Any:
    return tuple(frozen(v) for v in value) if isinstance(value, list | tuple) else value


def settings_key(config: GenerationConfig) -> tuple:
    return tuple((f.name, frozen(getattr(config, f.name))) for f in dataclasses.fields(config) if f.name != "extra")


def generate(model: FlaxEncoderDecoderModel, input_ids: Any, attention_mask: Any = None, *,
             generation_config: GenerationConfig | None = None, decoder_input_ids: Any = None,
             prng_key: jax.Array | None = None, **kwargs: Any) -> FlaxGenerateOutput:
    config = resolve_generation_config(model, generation_config, kwargs)
    config.validate()
    encoder_spec, decoder_spec = model.encoder.spec, model.decoder.spec
    ids = np.asarray(as_token_ids(input_ids, "input_ids", encoder_spec.vocab_size, encoder_spec.usable_positions))
    mask = source_mask(ids, attention_mask, config)
    prompt = decoder_prompt(config, ids.shape[0], decoder_input_ids, decoder_spec.vocab_size)
    # the PyTorch side's length checks and messages
    limits = resolve_limits(config, prompt.shape[1], decoder_spec.usable_positions, "cpu")
    eos = tuple(int(i) for i in limits.eos_ids.tolist()) if limits.eos_ids is not None else ()
    limits = Limits(limits.prompt_length, limits.max_length, eos, limits.pad_token_id)
    search = compiled_search(model, config, limits)
    key = prng_key if prng_key is not None else jax.random.key(0)
    state = nnx.state(model)
    tokens, lengths, scores, finite = search(state, jnp.asarray(ids), jnp.asarray(mask), jnp.asarray(prompt), key)
    if not bool(finite):
        raise RuntimeError("generate(): the model returned logits with no usable value (NaN or infinite); "
                           "check the model weights and inputs")
    if config.num_beams > 1:
        # the best num_return_sequences finished hypotheses per source, cut to the longest of them
        count = config.num_return_sequences
        length = limits.prompt_length + int(np.asarray(lengths)[:, :count].max())
        sequences = np.asarray(tokens)[:, :count, :length].reshape(-1, length)
        scores = np.asarray(scores)[:, :count].reshape(-1)
    else:
        sequences = np.asarray(tokens)[:, : int(lengths)]  # the filled columns
    return FlaxGenerateOutput(sequences=sequences, sequences_scores=scores)


def source_mask(ids: np.ndarray, attention_mask: Any, config: GenerationConfig) -> np.ndarray:
    """The sources' padding mask: given, or pad tokens masked when pad is not also the end token."""
    if attention_mask is not None:
        mask = np.asarray(attention_mask)
        if mask.shape != ids.shape:
            raise ValueError(f"attention_mask has shape {mask.shape}; expected {ids.shape}, as input_ids")
        return mask.astype(np.int32)
    if config.pad_token_id is not None and config.pad_token_id not in config.eos_token_ids():
        return (ids != config.pad_token_id).astype(np.int32)
    return np.ones_like(ids, dtype=np.int32)


def decoder_prompt(config: GenerationConfig, batch: int, decoder_input_ids: Any, vocab_size: int) -> np.ndarray:
    if decoder_input_ids is not None:
        return np.asarray(as_token_ids(decoder_input_ids, "decoder_input_ids", vocab_size))
    start = config.decoder_start_token_id
    if start is None:
        raise ValueError(
            "generate() needs the token that starts every target: set model.config.decoder_start_token_id "
            "(BERT decoders: the tokenizer's cls_token_id, e.g. 101; GPT-2 decoders: bos_token_id)"
        )
    return np.full((batch, 1), start, dtype=np.int32)


def compiled_search(model: FlaxEncoderDecoderModel, config: GenerationConfig, limits: Limits) -> Callable:
    """The jit-compiled search for this model and these settings (built once, reused for every call)."""
    by_settings = COMPILED.setdefault(model, {})
    key = (settings_key(config), limits)
    if key not in by_settings:
        graphdef, _ = nnx.split(model)
        by_settings[key] = jax.jit(search_function(graphdef, config, limits))
    return by_settings[key]


def search_function(graphdef: nnx.GraphDef, config: GenerationConfig, limits: Limits) -> Callable:
    beams = config.num_beams
    per_source = beams if beams > 1 else config.num_return_sequences
    min_keep = 1 + max(1, len(limits.eos_ids)) if beams > 1 else 1
    fill_value = beam_fill_value(config)
    settings = BeamSettings(beams, float(config.length_penalty), config.early_stopping, config.do_sample)

    def search(state: nnx.State, ids: jax.Array, mask: jax.Array, prompt: jax.Array, key: jax.Array) -> tuple:
        model = nnx.merge(graphdef, state)
        decoder = model.decoder
        memory = model.project_memory(model.encoder.stack(ids, mask))
        rows = ids.shape[0] * per_source
        cache = decoder.init_cache(rows, limits.max_length, memory, mask)
        if limits.prompt_length > 1:  # all but the last prompt token; the search feeds that one
            _, cache = decoder.decode(expand_rows(prompt[:, :-1], per_source), cache)

        def step(tokens: jax.Array, cache: DecoderCache) -> tuple[jax.Array, DecoderCache]:
            hidden, cache = decoder.decode(tokens, cache)
            return decoder.logits(hidden[:, -1]), cache

        transforms = build_transforms(config, prompt_length=limits.prompt_length, max_length=limits.max_length,
                                      vocab_size=decoder.spec.vocab_size, min_tokens_to_keep=min_keep)
        if beams > 1:
            final = beam_search(step, DecoderCache.select_rows, cache, prompt, limits, settings, transforms,
                                fill_value, key)
            return final.finished_tokens, final.finished_lengths, final.finished_scores, final.finite
        tokens = jnp.full((rows, limits.max_length), limits.pad_token_id, jnp.int32)
        tokens = tokens.at[:, : limits.prompt_length].set(expand_rows(prompt, per_source))
        final = greedy_search(step, cache, tokens, limits, transforms, config.do_sample, key)
        return final.tokens, final.cur_len, None, final.finite

    return search
