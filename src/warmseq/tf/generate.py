"""`generate()` for the TF model: encode once, then run a search as one XLA-compiled program.

Settings are resolved exactly as on the PyTorch side (same GenerationConfig, same special-id
precedence, same length rules and errors); they are static in the program, the token ids are its
inputs. Programs are kept per settings, and TF traces one per input shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from warmseq.generation.config import GenerationConfig
from warmseq.generation.driver import beam_fill_value, resolve_limits
from warmseq.modeling.generate import resolve_generation_config
from warmseq.tf.beam import BeamSettings, beam_search
from warmseq.tf.cache import expand_rows
from warmseq.tf.greedy import greedy_search
from warmseq.tf.inputs import check_token_ids
from warmseq.tf.logits import build_transforms

if TYPE_CHECKING:
    from warmseq.tf.encoder_decoder import TFEncoderDecoderModel


@dataclass(frozen=True)
class TFGenerateOutput:
    """sequences: (batch * returned per source, length) int32, prompt included, rows grouped by source;
    sequences_scores: (batch * returned per source,) length-penalised beam scores (beam search only);
    scores (output_scores=True): one (rows, vocab) float32 per new token, the processed scores the search
    chose from (beam search: each running beam's log-probabilities, before its own score is added)."""

    sequences: tf.Tensor
    sequences_scores: tf.Tensor | None = None
    scores: tuple[tf.Tensor, ...] | None = None


@dataclass(frozen=True)
class Plan:
    """Everything static about one generate call: what the compiled program is specialised on."""

    config_json: str
    max_length: int
    prompt_length: int
    eos_ids: tuple[int, ...]
    pad_token_id: int
    fill_value: int
    keep_scores: bool

    @property
    def config(self) -> GenerationConfig:
        return GenerationConfig.from_dict(json.loads(self.config_json))


def plan_for(config: GenerationConfig, prompt_length: int, max_positions: int) -> Plan:
    limits = resolve_limits(config, prompt_length, max_positions, "cpu")
    eos = tuple(config.eos_token_ids())
    keep_scores = bool(config.output_scores and config.return_dict_in_generate)
    return Plan(json.dumps(config.to_dict(), sort_keys=True), limits.max_length, prompt_length, eos,
                limits.pad_token_id, beam_fill_value(config), keep_scores)


def search_program(model: TFEncoderDecoderModel, plan: Plan):
    """A function (input_ids, attention_mask, prompt, seed) -> search results, for `plan`'s settings."""
    config = plan.config
    decoder = model.decoder
    beams = config.num_beams
    per_source = beams if beams > 1 else config.num_return_sequences
    n_eos = len(plan.eos_ids)
    scores_width = decoder.spec.vocab_size if plan.keep_scores else 0
    transforms = build_transforms(config, prompt_length=plan.prompt_length, max_length=plan.max_length,
                                  vocab_size=decoder.spec.vocab_size,
                                  min_tokens_to_keep=1 + max(1, n_eos) if beams > 1 else 1)

    def run(input_ids: tf.Tensor, attention_mask: tf.Tensor, prompt: tf.Tensor, seed: tf.Tensor):
        memory = model.encode(input_ids, attention_mask)
        rows = tf.shape(input_ids)[0] * per_source
        # positions 0 .. max_length - 2 are fed to the decoder; the last token chosen is never fed
        cache = decoder.new_cache(rows, plan.max_length - 1, memory, attention_mask)
        if beams > 1:
            settings = BeamSettings(beams, float(config.length_penalty), config.early_stopping, config.do_sample)
            state, steps, log = beam_search(decoder.decode_logits, cache, prompt, plan.max_length,
                                            list(plan.eos_ids), settings, transforms, plan.fill_value, seed,
                                            scores_width)
            return state.finished_tokens, state.finished_scores, state.finished_lengths, steps, log
        return greedy_search(decoder.decode_logits, cache, expand_rows(prompt, per_source), plan.max_length,
                             list(plan.eos_ids), plan.pad_token_id, transforms, config.do_sample, seed, scores_width)

    return run


def compiled(model: TFEncoderDecoderModel, plan: Plan, jit_compile: bool):
    programs = model.__dict__.setdefault("_warmseq_generate_programs", {})
    key = (plan, jit_compile)
    if key not in programs:
        programs[key] = tf.function(search_program(model, plan), jit_compile=jit_compile)
    return programs[key]


def prepare_inputs(model: TFEncoderDecoderModel, input_ids: Any, attention_mask: Any, config: GenerationConfig
                   ) -> tuple[tf.Tensor, tf.Tensor]:
    spec = model.encoder.spec
    input_ids = check_token_ids(input_ids, "input_ids", spec.vocab_size, spec.usable_positions)
    if attention_mask is None:
        pad = config.pad_token_id
        is_pad = input_ids == pad if pad is not None else tf.zeros_like(input_ids, tf.bool)
        if pad is not None and bool(tf.reduce_any(is_pad)) and pad not in config.eos_token_ids():
            attention_mask = tf.cast(~is_pad, tf.int32)
        else:
            attention_mask = tf.ones_like(input_ids)
    return input_ids, tf.cast(attention_mask, tf.int32)


def decoder_prompt(model: TFEncoderDecoderModel, config: GenerationConfig, batch: int,
                   decoder_input_ids: Any) -> tf.Tensor:
    if decoder_input_ids is not None:
        return check_token_ids(decoder_input_ids, "decoder_input_ids", model.decoder.spec.vocab_size)
    start = config.decoder_start_token_id
    if start is None:
        raise ValueError(
            "generate() needs the token that starts every target: set model.config.decoder_start_token_id "
            "(BERT decoders: the tokenizer's cls_token_id, e.g. 101; GPT-2 decoders: bos_token_id)"
        )
    return tf.fill((batch, 1), tf.constant(start, tf.int32))


def generate(model: TFEncoderDecoderModel, input_ids: Any, attention_mask: Any = None, *,
             generation_config: GenerationConfig | None = None, decoder_input_ids: Any = None,
             seed: int | None = None, jit_compile: bool = True, **kwargs: Any) -> tf.Tensor | TFGenerateOutput:
    config = resolve_generation_config(model, generation_config, kwargs)
    config.validate()
    input_ids, attention_mask = prepare_inputs(model, input_ids, attention_mask, config)
    prompt = decoder_prompt(model, config, int(input_ids.shape[0]), decoder_input_ids)
    plan = plan_for(config, int(prompt.shape[1]), model.decoder.spec.usable_positions)
    seeds = tf.constant([0 if seed is None else seed, 0], tf.int32)
    if seed is None and config.do_sample:
        seeds = tf.random.uniform((2,), maxval=2**31 - 1, dtype=tf.int32)
    result = compiled(model, plan, jit_compile)(input_ids, attention_mask, prompt, seeds)
    if config.num_beams > 1:
        tokens, scores, lengths, steps, log = result
        count = config.num_return_sequences
        length = plan.prompt_length + int(tf.reduce_max(lengths[:, :count]))
        sequences = tf.reshape(tokens[:, :count, :length], (-1, length))
        steps_run = range(int(steps))
        output = TFGenerateOutput(sequences, tf.reshape(scores[:, :count], (-1,)), kept_scores(plan, log, steps_run))
    else:
        tokens, length, log = result
        steps_run = range(plan.prompt_length - 1, int(length) - 1)  # step t chose column t + 1
        output = TFGenerateOutput(tokens[:, : int(length)], scores=kept_scores(plan, log, steps_run))
    return output if config.return_dict_in_generate else output.sequences


def kept_scores(plan: Plan, log: tf.Tensor, steps: range) -> tuple[tf.Tensor, ...] | None:
    """The logged scores of the steps that chose new tokens (None unless output_scores was asked for)."""
    return tuple(log[step] for step in steps) if plan.keep_scores else None
