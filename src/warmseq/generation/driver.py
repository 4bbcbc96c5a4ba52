"""The entry point: check the request, resolve lengths and special tokens, lay out rows, run a search.

Rows are grouped by source: row = source * rows_per_source + j, where rows_per_source is num_beams for beam
search and num_return_sequences otherwise. The model side provides three callables and never sees the search:

    step(tokens (rows, n) int64, cache) -> (logits (rows, vocab) float for the last new position, cache)
    reorder(cache, row_index (rows,)) -> cache whose row r is the old row row_index[r]
    make_cache(rows_per_source, max_new_len) -> a fresh cache for batch * rows_per_source rows

and may provide `keep_rows(cache, kept (n,)) -> cache of those rows only` (a source's rows kept together), which
greedy and beam search use to stop computing rows and sources that have ended.

`step` is called first with the whole prompt, then with one token per row. The search may change the
returned logits in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from warmseq.generation.beam import BeamSettings, Reorder, beam_search, best_hypotheses
from warmseq.generation.config import DEFAULT_MAX_NEW_TOKENS, GenerationConfig
from warmseq.generation.greedy import BestStep, DecodeLimits, KeepRows, Step, iterate_tokens, run_to_end
from warmseq.generation.logits import Transform, build_transforms
from warmseq.generation.sampling import build_sampling_transforms

Cache = Any
MakeCache = Callable[[int, int], Cache]


@dataclass
class GenerateOutput:
    """What `generate_tokens` returns.

    sequences: (batch * returned per source, length) int64, prompt included, rows grouped by source.
    scores: processed scores per step, each (rows, vocab), when `output_scores` is set (log-probs in beam
        search).
    sequences_scores: (batch * returned per source,) length-penalised beam scores, beam search only.
    The model side fills the rest when asked (`output_attentions`, `output_hidden_states`), as the original:
    encoder_attentions / encoder_hidden_states: one tensor per layer (per layer + 1) for the sources, (batch, ...).
    decoder_attentions / cross_attentions / decoder_hidden_states: one entry per step, each a tuple over
        layers of (rows, heads, new tokens, keys) weights or (rows, new tokens, hidden) states, rows in the
        order the step saw them.
    """

    sequences: Tensor
    scores: tuple[Tensor, ...] | None = None
    sequences_scores: Tensor | None = None
    encoder_attentions: tuple[Tensor, ...] | None = None
    encoder_hidden_states: tuple[Tensor, ...] | None = None
    decoder_attentions: tuple[tuple[Tensor, ...], ...] | None = None
    cross_attentions: tuple[tuple[Tensor, ...], ...] | None = None
    decoder_hidden_states: tuple[tuple[Tensor, ...], ...] | None = None

    # read by key as well, as the original's outputs are; fields that are None are absent
    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(f"generate() output has no {key!r}; it has {self.keys()}")
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()


def generate_tokens(
    step: Step,
    reorder: Reorder,
    make_cache: MakeCache,
    decoder_prompt: Tensor,
    config: GenerationConfig,
    *,
    max_positions: int | None,
    generator: torch.Generator | None = None,
    best_step: BestStep | None = None,
    keep_rows: KeepRows | None = None,
) -> GenerateOutput:
    """Generate continuations of `decoder_prompt` (batch, prompt_length) with greedy, beam search or sampling.

    `max_positions`: how many positions the decoder can embed (None: unlimited); the resolved max_length must
    fit. `generator` seeds sampling (None uses torch's global generator). `best_step`, where the model side
    has one, serves greedy steps that need only each row's best token. `keep_rows`, where the model side has
    one, lets greedy search drop ended rows and beam search finished sources from the cache.
    """
    config.validate()
    check_prompt(decoder_prompt)
    batch, prompt_length = decoder_prompt.shape
    limits = resolve_limits(config, prompt_length, max_positions, decoder_prompt.device)
    keep_scores = config.return_dict_in_generate and config.output_scores
    scores_out: list[Tensor] | None = [] if keep_scores else None
    if config.num_beams > 1:
        rows_per_source = config.num_beams
        cache = make_cache(rows_per_source, limits.max_length - prompt_length)
        transforms = LazyTransforms(config, limits, min_tokens_to_keep=1 + max(1, n_eos(limits)))
        settings = BeamSettings(config.num_beams, float(config.length_penalty), config.early_stopping, config.do_sample)
        state, _ = beam_search(
            step,
            reorder,
            cache,
            decoder_prompt,
            limits,
            settings,
            transforms.as_list(),
            beam_fill_value(config),
            generator=generator,
            scores_out=scores_out,
            keep_rows=keep_rows,
        )
        sequences, sequence_scores = best_hypotheses(state, config.num_return_sequences, prompt_length)
        scores = tuple(scores_out) if scores_out is not None else None
        return GenerateOutput(sequences, scores, sequence_scores if keep_scores else None)

    rows_per_source = config.num_return_sequences
    tokens = start_buffer(decoder_prompt, rows_per_source, limits)
    cache = make_cache(rows_per_source, limits.max_length - prompt_length)
    transforms = LazyTransforms(config, limits, min_tokens_to_keep=1)
    steps = iterate_tokens(
        step,
        cache,
        tokens,
        limits,
        transforms.as_list(),
        do_sample=config.do_sample,
        generator=generator,
        scores_out=scores_out,
        best_step=best_step,
        keep_rows=keep_rows,
    )
    sequences = run_to_end(steps, tokens, prompt_length)
    return GenerateOutput(sequences, tuple(scores_out) if scores_out is not None else None)


def stream_tokens(
    step: Step,
    make_cache: MakeCache,
    decoder_prompt: Tensor,
    config: GenerationConfig,
    *,
    max_positions: int | None,
    generator: torch.Generator | None = None,
    best_step: BestStep | None = None,
) -> Iterator[int]:
    """Yield the new token ids of one sequence as they are chosen (greedy or sampling, one source).

    The end token, when produced, is yielded last.
    """
    config.validate()
    check_prompt(decoder_prompt)
    if decoder_prompt.shape[0] != 1 or config.num_beams != 1 or config.num_return_sequences != 1:
        raise ValueError(
            "stream_tokens streams one sequence: it needs a prompt of batch 1, num_beams=1 and "
            f"num_return_sequences=1, got batch {decoder_prompt.shape[0]}, num_beams={config.num_beams}, "
            f"num_return_sequences={config.num_return_sequences}"
        )
    prompt_length = decoder_prompt.shape[1]
    limits = resolve_limits(config, prompt_length, max_positions, decoder_prompt.device)
    tokens = start_buffer(decoder_prompt, 1, limits)
    cache = make_cache(1, limits.max_length - prompt_length)
    transforms = LazyTransforms(config, limits, min_tokens_to_keep=1)
    for new in iterate_tokens(
        step, cache, tokens, limits, transforms.as_list(), do_sample=config.do_sample, generator=generator,
        best_step=best_step,
    ):
        yield int(new[0])


def check_prompt(decoder_prompt: Tensor) -> None:
    if not isinstance(decoder_prompt, Tensor) or decoder_prompt.dim() != 2:
        shape = tuple(decoder_prompt.shape) if isinstance(decoder_prompt, Tensor) else type(decoder_prompt).__name__
        raise ValueError(f"decoder_prompt must be a 2-D tensor (batch, prompt_length), got {shape}")
    if decoder_prompt.shape[0] == 0:
        raise ValueError("decoder_prompt has batch size 0: there is nothing to generate for")
    if decoder_prompt.shape[1] == 0:
        raise ValueError(
            "decoder_prompt is empty (prompt_length 0): it needs at least the decoder start token; "
            "set decoder_start_token_id"
        )
    if decoder_prompt.dtype != torch.long:
        raise ValueError(f"decoder_prompt must hold int64 token ids, got dtype {decoder_prompt.dtype}")


def resolve_limits(
    config: GenerationConfig, prompt_length: int, max_positions: int | None, device: torch.device
) -> DecodeLimits:
    """Turn the config's length fields and special tokens into the numbers the loops use."""
    if config.max_new_tokens is not None:
        max_length = prompt_length + config.max_new_tokens
        asked = f"max_new_tokens={config.max_new_tokens} after a decoder prompt of {prompt_length} tokens"
    elif config.max_length is not None:
        max_length = config.max_length
        asked = f"max_length={config.max_length}"
    else:
        # the default: 20 new tokens, cut to what the decoder can embed
        max_length = prompt_length + DEFAULT_MAX_NEW_TOKENS
        if max_positions is not None:
            max_length = min(max_length, max_positions)
        asked = f"the default of {DEFAULT_MAX_NEW_TOKENS} new tokens"
    if max_positions is not None and max_length > max_positions:
        raise ValueError(
            f"{asked} needs {max_length} decoder positions, but the decoder has "
            f"max_positions={max_positions}; "
            f"ask for at most {max(max_positions - prompt_length, 0)} new tokens"
        )
    if prompt_length >= max_length:
        raise ValueError(
            f"the decoder prompt has {prompt_length} tokens, but max_length is {max_length}: "
            "nothing is left to generate; raise max_length or set max_new_tokens"
        )
    eos = config.eos_token_ids()
    eos_ids = torch.tensor(eos, dtype=torch.long, device=device) if eos else None
    pad = config.pad_token_id if config.pad_token_id is not None else (eos[0] if eos else 0)
    return DecodeLimits(prompt_length, max_length, eos_ids, pad)


def beam_fill_value(config: GenerationConfig) -> int:
    """What fills beam-search output past a hypothesis' end, as the peer writes it.

    The peer falls back to the first end token when pad_token_id is unset *or 0*, and to -1 without end
    tokens.
    """
    eos = config.eos_token_ids()
    if not eos:
        return -1
    return config.pad_token_id if config.pad_token_id else eos[0]


def start_buffer(decoder_prompt: Tensor, rows_per_source: int, limits: DecodeLimits) -> Tensor:
    """The output buffer (batch * rows_per_source, max_length) with each source's prompt in its rows."""
    rows = decoder_prompt.shape[0] * rows_per_source
    tokens = decoder_prompt.new_full((rows, limits.max_length), limits.pad_token_id)
    tokens[:, : limits.prompt_length] = decoder_prompt.repeat_interleave(rows_per_source, dim=0)
    return tokens


def n_eos(limits: DecodeLimits) -> int:
    return 0 if limits.eos_ids is None else limits.eos_ids.numel()


class LazyTransforms:
    """The transforms for a config, built on first use, when the vocabulary size is known from the logits."""

    def __init__(self, config: GenerationConfig, limits: DecodeLimits, *, min_tokens_to_keep: int) -> None:
        self.config = config
        self.limits = limits
        self.min_tokens_to_keep = min_tokens_to_keep
        self.built: list[Transform] | None = None

    def as_list(self) -> list[Transform]:
        """[] when the config asks for no transform (so greedy stays a bare argmax), else one lazy entry."""
        if not self.needed():
            return []
        return [self.__call__]

    def needed(self) -> bool:
        c = self.config
        return (
            c.repetition_penalty != 1.0
            or c.no_repeat_ngram_size > 0
            or c.bad_words_ids is not None
            or (bool(c.eos_token_ids()) and (c.min_length > 0 or bool(c.min_new_tokens)))
            or c.forced_bos_token_id is not None
            or c.forced_eos_token_id is not None
            or (c.do_sample and (c.temperature != 1.0 or bool(c.top_k) or c.top_p < 1.0))
        )

    def __call__(self, scores: Tensor, history: Tensor) -> Tensor:
        if self.built is None:
            self.built = build_transforms(
                self.config,
                prompt_length=self.limits.prompt_length,
                max_length=self.limits.max_length,
                vocab_size=scores.shape[-1],
                device=scores.device,
            )
            if self.config.do_sample:
                self.built += build_sampling_transforms(self.config, min_tokens_to_keep=self.min_tokens_to_keep)
        for transform in self.built:
            scores = transform(scores, history)
        return scores
