"""`generate()` for encoder-decoder models: encode once, then hand a cached decode step to a search.

The search strategies in `warmseq.generation` see only `step`, `reorder` and `make_cache`; this file
is where the model meets them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from warmseq.generation.config import GENERATION_CONFIG_NAME, GenerationConfig, field_names, unknown_field_message
from warmseq.generation.driver import GenerateOutput, generate_tokens, stream_tokens
from warmseq.generation.row_max import row_max
from warmseq.hub import resolve_file
from warmseq.modeling.cache import DecoderCache
from warmseq.modeling.flat_step import LINEAR, FlatBlocks
from warmseq.modeling.inputs import check_token_ids
from warmseq.modeling.outputs import BaseModelOutput, StackRecord
from warmseq.modeling.packed import OutputProjection, kept_modules, plan_applies
from warmseq.modeling.quantization import check_compute_type, decode_modules_for, encoder_for
from warmseq.modeling.static_step import STATIC_CACHES, StaticState, compile_mode, step_function, uses_static_step

if TYPE_CHECKING:
    from warmseq.modeling.causal_lm import CausalLM
    from warmseq.modeling.encoder_decoder import EncoderDecoderModel

SPECIAL_IDS = ("decoder_start_token_id", "pad_token_id", "eos_token_id", "bos_token_id")


def default_generation_config(model_config: Any) -> GenerationConfig:
    """Generation settings for a model without generation_config.json (legacy top-level fields honoured)."""
    return GenerationConfig.from_model_config(dict(model_config.generation_fields))


def save_generation_config(model: Any, folder: Path) -> None:
    """generation_config.json for a pair of any framework: its settings, with the special ids of its model
    config (the one source of truth for them)."""
    config = model.generation_config or default_generation_config(model.config)
    for name in SPECIAL_IDS:
        if getattr(model.config, name, None) is not None:
            setattr(config, name, getattr(model.config, name))
    config.save_pretrained(folder)


def load_generation_config(model: Any, name_or_path: str | os.PathLike) -> None:
    """Set a pair's `generation_config` from its folder's generation_config.json (or its config's legacy
    fields), filling special ids its model config leaves unset."""
    path = resolve_file(name_or_path, GENERATION_CONFIG_NAME, optional=True)
    model.generation_config = (GenerationConfig.from_pretrained(path) if path is not None
                               else default_generation_config(model.config))
    for name in SPECIAL_IDS:
        if getattr(model.config, name, None) is None and getattr(model.generation_config, name) is not None:
            setattr(model.config, name, getattr(model.generation_config, name))


def resolve_generation_config(model: EncoderDecoderModel, base: GenerationConfig | None,
                              kwargs: dict[str, Any]) -> GenerationConfig:
    """The settings of one call: explicit keywords, then the model's config for special ids (so setting
    `model.config.decoder_start_token_id` is enough), then generation_config.json, then the decoder's config."""
    names = field_names()
    for key in kwargs:
        if key not in names:
            raise TypeError(f"generate() got an unknown keyword: {unknown_field_message(key, names)}")
    config = (base or model.generation_config or default_generation_config(model.config)).copy()
    for name in SPECIAL_IDS:
        if name in kwargs:
            continue
        for source in (model.config, config, model.config.decoder):
            value = getattr(source, name, None)
            if value is not None:
                setattr(config, name, value)
                break
    return config.update(**kwargs)


def decoder_prompt(model: EncoderDecoderModel, config: GenerationConfig, batch: int,
                   decoder_input_ids: Tensor | None, device: torch.device) -> Tensor:
    if decoder_input_ids is not None:
        check_token_ids(decoder_input_ids, "decoder_input_ids", model.decoder.spec.vocab_size)
        return decoder_input_ids
    start = config.decoder_start_token_id
    if start is None:
        raise ValueError(
            "generate() needs the token that starts every target: set model.config.decoder_start_token_id "
            "(BERT decoders: the tokenizer's cls_token_id, e.g. 101; GPT-2 decoders: bos_token_id)"
        )
    return torch.full((batch, 1), start, dtype=torch.long, device=device)


@dataclass
class StepState:
    """What a decode step needs besides the new tokens: the cache, and the decoder and LM head fitted to
    the call's row count and compute type (linear weights packed by oneDNN where that is faster,
    `packed.py`, or in bf16 or int8, `quantization.py`)."""

    cache: DecoderCache
    decoder: CausalLM
    head: Callable[[Tensor], Tensor]  # (rows, hidden) -> (rows, vocab) float32
    steps: StepOutputs | None = None  # filled by `CachedDecoder.step_recorded` only
    blocks: FlatBlocks | None = None  # the copy's blocks as one scripted function (`flat_step.py`)

    def hidden(self, tokens: Tensor) -> Tensor:
        """The decoder's hidden states (rows, hidden) for the new `tokens` (rows, n), extending the cache."""
        if self.blocks is not None and tokens.shape[1] == 1:
            hidden = self.blocks.decode(self.decoder.stack, tokens, self.cache)[:, -1]
        else:
            hidden = self.decoder.decode(tokens, self.cache)
        return self.decoder.lm_head.prepare(hidden)


@dataclass
class StepOutputs:
    """What each decode step saw, for generate(output_attentions=..., output_hidden_states=...): one entry per
    step, each a tuple over layers."""

    hidden_states: bool
    attentions: bool
    decoder_attentions: list[tuple[Tensor, ...]] = field(default_factory=list)
    cross_attentions: list[tuple[Tensor, ...]] = field(default_factory=list)
    decoder_hidden_states: list[tuple[Tensor, ...]] = field(default_factory=list)

    def add(self, record: StackRecord) -> None:
        if record.attentions is not None:
            self.decoder_attentions.append(tuple(record.attentions))
            self.cross_attentions.append(tuple(record.cross_attentions))
        if record.hidden_states is not None:
            self.decoder_hidden_states.append(tuple(record.hidden_states))


class CachedDecoder:
    """The decode step over a model's decoder, for the search strategies of `warmseq.generation`."""

    def __init__(self, model: EncoderDecoderModel, memory: Tensor, memory_mask: Tensor | None,
                 steps: StepOutputs | None = None, compute_type: str = "float32") -> None:
        self.decoder, self.memory, self.memory_mask = model.decoder, memory, memory_mask
        self.steps = steps
        self.compute_type = compute_type

    def make_static_state(self, rows_per_source: int, max_new: int, prompt_length: int, compiled: bool) -> StaticState:
        """A static cache and its step (`static_step.py`): the plain decoder, no CPU paths, no packing."""
        rows = self.memory.shape[0] * rows_per_source
        cache = STATIC_CACHES.cache_for(self.decoder, rows, prompt_length + max_new, self.memory, self.memory_mask)
        device_type = self.memory.device.type
        graphs = compiled and compile_mode(device_type) == "reduce-overhead"
        return StaticState(cache, step_function(device_type, compiled), self.decoder, graphs)

    @staticmethod
    def step_static(tokens: Tensor, state: StaticState) -> tuple[Tensor, StaticState]:
        return state.logits(tokens), state

    @staticmethod
    def reorder_static(state: StaticState, rows: Tensor) -> StaticState:
        state.cache.select_rows(rows)
        return state

    def make_cache(self, rows_per_source: int, max_new: int, prompt_length: int = 1) -> StepState:
        decoder = self.decoder
        rows = self.memory.shape[0] * rows_per_source
        kind = self.compute_type
        fitted, head = kept_modules(decoder, rows, lambda: decode_modules_for(decoder, rows, kind), kind)
        # bf16 and int8 compute the cross-attention keys and values in the call's precision too; float32 with
        # the plain weights (a packed copy is laid out for the steps' rows, not the sources')
        projector = decoder if kind == "float32" else fitted
        cache = projector.new_cache(rows, prompt_length + max_new, self.memory, self.memory_mask)
        stepping = fitted or decoder
        return StepState(cache, stepping, head, self.steps, self.flat_blocks(stepping))

    def flat_blocks(self, stepping: CausalLM) -> FlatBlocks | None:
        """The stepping decoder's blocks as one scripted function (`flat_step.py`), on CPU (elsewhere the static
        step is the default). In float32 with the CPU paths on, the linears a copy leaves plain (or all of them,
        where there is no copy) are those whose products the plan keeps with `F.linear` for the call's rows. A
        decoder left in training mode keeps `Block.step`, whose dropout the flat function does not have."""
        if self.memory.device.type != "cpu" or stepping.training:
            return None
        plain = self.compute_type == "float32" and plan_applies(self.decoder.output_weight())
        if stepping is self.decoder and not plain:
            return None  # the plain PyTorch step (WARMSEQ_CPU_KERNELS=0, float64, ...)
        return FlatBlocks.of(stepping.stack, LINEAR if plain else None)

    @staticmethod
    def step(tokens: Tensor, state: StepState) -> tuple[Tensor, StepState]:
        return state.head(state.hidden(tokens)), state

    @staticmethod
    def step_best(tokens: Tensor, state: StepState) -> tuple[tuple[Tensor, Tensor], StepState]:
        """`step` for a greedy search that needs each row's best token only: its largest logit (rows,) and
        its token (rows,), by the head's cheaper `best` where it has one."""
        hidden = state.hidden(tokens)  # (rows, hidden)
        if isinstance(state.head, OutputProjection):
            return state.head.best(hidden), state
        return row_max(state.head(hidden)), state

    @staticmethod
    def step_recorded(tokens: Tensor, state: StepState) -> tuple[Tensor, StepState]:
        """`step` that also keeps the step's attention weights and hidden states (the slow path, chosen once
        per call, so that `step` does no extra work)."""
        record = StackRecord.asked(state.steps.hidden_states, state.steps.attentions)
        hidden = state.decoder.stack.decode_recorded(tokens, state.cache, record)[:, -1]  # (rows, hidden)
        state.steps.add(record)
        return state.head(state.decoder.lm_head.prepare(hidden)), state

    @staticmethod
    def reorder(state: StepState, rows: Tensor) -> StepState:
        state.cache = state.cache.select_rows(rows)
        return state

    @staticmethod
    def keep_rows(state: StepState, rows: Tensor) -> StepState:
        """Only `rows` from here on (greedy search dropping ended rows); the decoder and head fitted to the
        call's row count serve fewer rows too."""
        state.cache = state.cache.keep_rows(rows)
        return state


def resolve_compute_type(model: EncoderDecoderModel, compute_type: str | None) -> str:
    """The call's compute type, else the one given to from_pretrained, else float32 (exact)."""
    if compute_type is None:
        return check_compute_type(getattr(model, "compute_type", "float32"), "from_pretrained(compute_type)")
    return check_compute_type(compute_type, "generate(compute_type)")


def prepare(model: EncoderDecoderModel, input_ids: Tensor, attention_mask: Tensor | None,
            config: GenerationConfig, compute_type: str = "float32") -> tuple[BaseModelOutput, Tensor, Tensor | None]:
    """Encode the sources once, in the call's compute type; (encoder outputs, memory, memory_mask)."""
    check_token_ids(input_ids, "input_ids", model.encoder.spec.vocab_size, model.encoder.spec.usable_positions)
    if attention_mask is None and config.pad_token_id is not None:
        is_pad = input_ids == config.pad_token_id
        if bool(is_pad.any()) and config.pad_token_id not in config.eos_token_ids():
            attention_mask = (~is_pad).long()
    keeps = config.return_dict_in_generate
    encoded = encoder_for(model.encoder, compute_type)(input_ids=input_ids, attention_mask=attention_mask,
                                                       output_attentions=keeps and config.output_attentions,
                                                       output_hidden_states=keeps and config.output_hidden_states)
    return encoded, model.project_memory(encoded.last_hidden_state), attention_mask


def step_outputs(config: GenerationConfig) -> StepOutputs | None:
    """What the decode steps must keep, or None (the fast step) when the call asks for neither."""
    if not config.return_dict_in_generate or not (config.output_attentions or config.output_hidden_states):
        return None
    return StepOutputs(hidden_states=config.output_hidden_states, attentions=config.output_attentions)


def with_step_outputs(output: GenerateOutput, encoded: BaseModelOutput, steps: StepOutputs | None) -> GenerateOutput:
    output.encoder_attentions, output.encoder_hidden_states = encoded.attentions, encoded.hidden_states
    if steps is not None:
        if steps.attentions:
            output.decoder_attentions = tuple(steps.decoder_attentions)
            output.cross_attentions = tuple(steps.cross_attentions)
        if steps.hidden_states:
            output.decoder_hidden_states = tuple(steps.decoder_hidden_states)
    return output


def generate(model: EncoderDecoderModel, input_ids: Tensor, attention_mask: Tensor | None = None, *,
             generation_config: GenerationConfig | None = None, decoder_input_ids: Tensor | None = None,
             generator: torch.Generator | None = None, compute_type: str | None = None,
             **kwargs: Any) -> Tensor | GenerateOutput:
    config = resolve_generation_config(model, generation_config, kwargs)
    compute_type = resolve_compute_type(model, compute_type)
    steps = step_outputs(config)
    static = steps is None and compute_type == "float32" and uses_static_step(config.cache_implementation,
                                                                               input_ids.device)
    if config.cache_implementation == "static" and not static:
        raise ValueError(
            "generate(cache_implementation='static') runs the plain float32 step: it cannot be combined with "
            f"compute_type={compute_type!r}, output_attentions or output_hidden_states"
        )
    with torch.inference_mode(), (STATIC_CACHES.lock(model.decoder) if static else contextlib.nullcontext()):
        encoded, memory, memory_mask = prepare(model, input_ids, attention_mask, config, compute_type)
        prompt = decoder_prompt(model, config, input_ids.shape[0], decoder_input_ids, input_ids.device)
        decoder = CachedDecoder(model, memory, memory_mask, steps, compute_type=compute_type)
        keep_rows = None  # a static cache keeps its shapes; recorded steps keep every row
        if static:
            step, reorder, best_step = decoder.step_static, decoder.reorder_static, None
            compiled = not config.disable_compile
            make_cache = lambda per_source, max_new: decoder.make_static_state(  # noqa: E731
                per_source, max_new, prompt.shape[1], compiled)
        else:
            step = decoder.step if steps is None else decoder.step_recorded
            best_step = decoder.step_best if steps is None else None
            reorder = decoder.reorder
            keep_rows = decoder.keep_rows if steps is None else None
            make_cache = lambda per_source, max_new: decoder.make_cache(per_source, max_new, prompt.shape[1])  # noqa: E731
        output = generate_tokens(step, reorder, make_cache, prompt, config,
                                 max_positions=model.decoder.spec.usable_positions, generator=generator,
                                 best_step=best_step, keep_rows=keep_rows)
    return with_step_outputs(output, encoded, steps) if config.return_dict_in_generate else output.sequences


def stream(model: EncoderDecoderModel, input_ids: Tensor, attention_mask: Tensor | None = None, *,
           generator: torch.Generator | None = None, compute_type: str | None = None,
           **kwargs: Any) -> Iterator[int]:
    """New token ids of one sequence as they are chosen (greedy or sampling)."""
    config = resolve_generation_config(model, None, kwargs)
    compute_type = resolve_compute_type(model, compute_type)
    with torch.inference_mode():
        _, memory, memory_mask = prepare(model, input_ids, attention_mask, config, compute_type)
        prompt = decoder_prompt(model, config, input_ids.shape[0], None, input_ids.device)
        decoder = CachedDecoder(model, memory, memory_mask, compute_type=compute_type)
        tokens = stream_tokens(decoder.step, decoder.make_cache, prompt, config,
                               max_positions=model.decoder.spec.usable_positions, generator=generator,
                               best_step=decoder.step_best)
        yield from tokens
