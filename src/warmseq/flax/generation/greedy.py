"""Greedy search and sampling as one `lax.while_loop`: one token per row per step, rows never reordered.

The twin of warmseq/generation/greedy.py. The loop state has fixed shapes: the whole (rows, max_length)
token buffer, the filled length, which rows are still running, the cache and the sampling key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from warmseq.flax.generation.logits import Transform, apply_transforms

Cache = Any
Step = Callable[[jax.Array, Cache], tuple[jax.Array, Cache]]  # (tokens (rows, 1), cache) -> (logits, cache)


@dataclass(frozen=True)
class Limits:
    """Where sequences start and stop, resolved from the config by the driver."""

    prompt_length: int
    max_length: int  # prompt included
    eos_ids: tuple[int, ...]  # empty: nothing ends a sequence early
    pad_token_id: int  # written after a row has ended


@jax.tree_util.register_dataclass
@dataclass
class GreedyState:
    tokens: jax.Array  # (rows, max_length) int32: prompt, chosen tokens, pad after a row's end
    cur_len: jax.Array  # int32 scalar: filled columns
    unfinished: jax.Array  # (rows,) bool
    cache: Cache
    key: jax.Array  # sampling key
    finite: jax.Array  # bool scalar: every step had a finite best logit in every row


def greedy_search(step: Step, cache: Cache, tokens: jax.Array, limits: Limits, transforms: list[Transform],
                  do_sample: bool, key: jax.Array) -> GreedyState:
    """Fill `tokens` (rows, max_length), whose first `prompt_length` columns hold the prompt, a column a step,
    until every row has ended or the buffer is full. Each step feeds the last filled column."""
    rows = tokens.shape[0]
    eos = jnp.asarray(limits.eos_ids, jnp.int32) if limits.eos_ids else None

    def running(state: GreedyState) -> jax.Array:
        return (state.cur_len < limits.max_length) & jnp.any(state.unfinished)

    def advance(state: GreedyState) -> GreedyState:
        last = jax.lax.dynamic_slice_in_dim(state.tokens, state.cur_len - 1, 1, axis=1)  # (rows, 1)
        logits, cache = step(last, state.cache)
        scores = logits.astype(jnp.float32)
        finite = state.finite & jnp.all(jnp.isfinite(jnp.max(scores, axis=-1)))
        scores = apply_transforms(transforms, scores, state.tokens, state.cur_len)
        key = state.key
        if do_sample:
            key, draw = jax.random.split(key)
            chosen = jax.random.categorical(draw, scores, axis=-1).astype(jnp.int32)
        else:
            chosen = jnp.argmax(scores, axis=-1).astype(jnp.int32)
        unfinished = state.unfinished
        if eos is not None:
            chosen = jnp.where(unfinished, chosen, limits.pad_token_id)
            unfinished = unfinished & ~jnp.isin(chosen, eos)
        tokens = jax.lax.dynamic_update_slice_in_dim(state.tokens, chosen[:, None], state.cur_len, axis=1)
        return GreedyState(tokens, state.cur_len + 1, unfinished, cache, key, finite)

    start = GreedyState(tokens, jnp.asarray(limits.prompt_length, jnp.int32), jnp.ones(rows, bool), cache, key,
                        jnp.asarray(True))
    return jax.lax.while_loop(running, advance, start)
