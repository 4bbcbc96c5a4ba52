"""Beam search with the PyTorch side's scoring (warmseq/generation/beam.py) as one `lax.while_loop`.

Per source, `beams` running hypotheses grow by one token a step. Each step keeps the best
K = max(2, 1 + n_eos) * beams continuations by summed log-probability: the best `beams` of those that did
not just end keep running, and those among the first `beams` that did end compete for the `beams` finished
slots with score sum_logprob / new_length ** length_penalty. The search stops when no running beam can beat
the finished ones (as `early_stopping` says), when every source has `beams` finished hypotheses and
early_stopping is True, or at max_length."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from warmseq.flax.generation.greedy import Cache, Limits, Step
from warmseq.flax.generation.logits import Transform, apply_transforms

Reorder = Callable[[Cache, jax.Array], Cache]
RULED_OUT = -1.0e9  # low enough to rule a candidate out while keeping arithmetic finite


@dataclass(frozen=True)
class BeamSettings:
    beams: int
    length_penalty: float
    early_stopping: bool | str
    do_sample: bool = False


@jax.tree_util.register_dataclass
@dataclass
class BeamState:
    running_tokens: jax.Array  # (batch, beams, max_length) int32: hypotheses still growing
    running_scores: jax.Array  # (batch, beams) float32: summed log-probs; RULED_OUT for all but beam 0 at first
    finished_tokens: jax.Array  # (batch, beams, max_length) int32: best finished hypotheses, best first
    finished_scores: jax.Array  # (batch, beams) float32: length-penalised; RULED_OUT where a slot is empty
    finished_lengths: jax.Array  # (batch, beams) int32: new tokens in each finished hypothesis
    is_finished: jax.Array  # (batch, beams) bool
    can_improve: jax.Array  # (batch, 1) bool: running beams may still beat the worst finished hypothesis
    cur_len: jax.Array  # int32 scalar
    done: jax.Array  # bool scalar
    cache: Cache
    key: jax.Array
    finite: jax.Array  # bool scalar

    @classmethod
    def start(cls, prompt: jax.Array, beams: int, max_length: int, fill_value: int, cache: Cache,
              key: jax.Array) -> BeamState:
        batch, prompt_length = prompt.shape
        running = jnp.full((batch, beams, max_length), fill_value, jnp.int32)
        running = running.at[:, :, :prompt_length].set(prompt[:, None, :])
        scores = jnp.zeros((batch, beams), jnp.float32).at[:, 1:].set(RULED_OUT)  # identical beams at first
        return cls(running, scores, running, jnp.full((batch, beams), RULED_OUT, jnp.float32),
                   jnp.zeros((batch, beams), jnp.int32), jnp.zeros((batch, beams), bool), jnp.ones((batch, 1), bool),
                   jnp.asarray(prompt_length, jnp.int32), jnp.asarray(False), cache, key, jnp.asarray(True))


def gather_rows(array: jax.Array, index: jax.Array) -> jax.Array:
    """array (batch, n, ...), index (batch, m) -> (batch, m, ...): row [b, j] is array[b, index[b, j]]."""
    index = index.reshape(index.shape + (1,) * (array.ndim - index.ndim))
    return jnp.take_along_axis(array, index, axis=1)


def beam_search(step: Step, reorder: Reorder, cache: Cache, prompt: jax.Array, limits: Limits,
                settings: BeamSettings, transforms: list[Transform], fill_value: int, key: jax.Array) -> BeamState:
    """Run the search for `prompt` (batch, prompt_length); `cache` holds batch * beams rows."""
    batch, prompt_length = prompt.shape
    beams = settings.beams
    keep = max(2, 1 + len(limits.eos_ids)) * beams
    eos = jnp.asarray(limits.eos_ids, jnp.int32) if limits.eos_ids else None
    source_offset = jnp.arange(batch)[:, None] * beams  # (batch, 1)
    # length ** length_penalty for every possible new length, computed as the PyTorch side does (in Python)
    penalties = jnp.asarray([max(n, 1) ** settings.length_penalty
                             for n in range(limits.max_length - prompt_length + 1)], jnp.float32)
    max_new = limits.max_length - prompt_length

    def advance(state: BeamState) -> BeamState:
        cur_len = state.cur_len
        last = jax.lax.dynamic_slice_in_dim(state.running_tokens, cur_len - 1, 1, axis=2)
        logits, cache = step(last.reshape(batch * beams, 1), state.cache)
        logits = logits.astype(jnp.float32)
        finite = state.finite & jnp.all(jnp.isfinite(jnp.max(logits, axis=-1)))
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        history = state.running_tokens.reshape(batch * beams, limits.max_length)
        log_probs = apply_transforms(transforms, log_probs, history, cur_len)
        vocab = log_probs.shape[-1]
        total = (log_probs.reshape(batch, beams, vocab) + state.running_scores[:, :, None]).reshape(batch, -1)
        key, draw = jax.random.split(state.key)
        cand_scores, cand_index = pick_candidates(total, keep, settings.do_sample, draw)
        cand_beam = cand_index // vocab  # (batch, keep): which running beam each candidate extends
        cand_token = (cand_index % vocab).astype(jnp.int32)
        cand_tokens = gather_rows(state.running_tokens, cand_beam)  # (batch, keep, max_length)
        at_cur = jnp.arange(limits.max_length) == cur_len
        cand_tokens = jnp.where(at_cur, cand_token[:, :, None], cand_tokens)
        hits = jnp.broadcast_to(cur_len + 1 >= limits.max_length, cand_token.shape)
        if eos is not None:
            hits = hits | jnp.isin(cand_token, eos)
        # the best `beams` candidates that did not end keep running
        open_scores = cand_scores + hits.astype(jnp.float32) * RULED_OUT
        chosen = jax.lax.top_k(open_scores, beams)[1]
        parent = gather_rows(cand_beam, chosen)
        new_length = cur_len + 1 - prompt_length
        state = BeamState(gather_rows(cand_tokens, chosen), gather_rows(open_scores, chosen), state.finished_tokens,
                          state.finished_scores, state.finished_lengths, state.is_finished, state.can_improve,
                          cur_len + 1, state.done, cache, key, finite)
        state = keep_finished(state, cand_tokens, cand_scores, hits, new_length, penalties[new_length], settings)
        state = update_can_improve(state, new_length, max_new, penalties, settings)
        go_on = jnp.any(state.can_improve) & ~jnp.all(hits)
        if settings.early_stopping is True:
            go_on = go_on & ~jnp.all(state.is_finished)
        state.done = ~go_on
        state.cache = reorder(state.cache, (parent + source_offset).reshape(-1))
        return state

    start = BeamState.start(prompt, beams, limits.max_length, fill_value, cache, key)
    return jax.lax.while_loop(lambda state: ~state.done, advance, start)


def pick_candidates(total: jax.Array, keep: int, do_sample: bool, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The `keep` best (or sampled without replacement) continuations per source, best first."""
    if not do_sample:
        return jax.lax.top_k(total, keep)
    # Gumbel top-k: the k largest of score + Gumbel noise are a draw without replacement from softmax(score)
    _, index = jax.lax.top_k(total + jax.random.gumbel(key, total.shape), keep)
    scores = jnp.take_along_axis(total, index, axis=1)
    order = jnp.argsort(-scores, axis=1)
    return jnp.take_along_axis(scores, order, axis=1), jnp.take_along_axis(index, order, axis=1)


def keep_finished(state: BeamState, cand_tokens: jax.Array, cand_scores: jax.Array, hits: jax.Array,
                  new_length: jax.Array, penalty: jax.Array, settings: BeamSettings) -> BeamState:
    """Merge the candidates that just ended into the finished slots, keeping the best `beams`."""
    beams = settings.beams
    # only the first `beams` candidates may finish; the rest exist so that enough beams keep running
    just_finished = hits & (jnp.arange(hits.shape[1]) < beams)[None, :]
    scores = cand_scores / penalty
    all_full = jnp.all(state.is_finished, axis=-1, keepdims=True) & (settings.early_stopping is True)
    scores = scores + all_full.astype(jnp.float32) * RULED_OUT
    scores = scores + (~state.can_improve).astype(jnp.float32) * RULED_OUT
    scores = scores + (~just_finished).astype(jnp.float32) * RULED_OUT
    merged_scores = jnp.concatenate((state.finished_scores, scores), axis=1)
    chosen = jax.lax.top_k(merged_scores, beams)[1]
    lengths = jnp.full(cand_tokens.shape[:2], new_length, jnp.int32)
    state.finished_tokens = gather_rows(jnp.concatenate((state.finished_tokens, cand_tokens), axis=1), chosen)
    state.finished_scores = gather_rows(merged_scores, chosen)
    state.finished_lengths = gather_rows(jnp.concatenate((state.finished_lengths, lengths), axis=1), chosen)
    state.is_finished = gather_rows(jnp.concatenate((state.is_finished, just_finished), axis=1), chosen)
    return state


def update_can_improve(state: BeamState, new_length: jax.Array, max_new: int, penalties: jax.Array,
                       settings: BeamSettings) -> BeamState:
    """Can the best running beam still beat the worst finished one? ("never": it may grow to the end)"""
    if settings.early_stopping == "never" and settings.length_penalty > 0.0:
        penalty = penalties[max_new]
    else:
        penalty = penalties[new_length]
    best_possible = state.running_scores[:, :1] / penalty
    worst = jnp.where(state.is_finished, jnp.min(state.finished_scores, axis=1, keepdims=True), RULED_OUT)
    state.can_improve = state.can_improve & jnp.any(best_possible > worst, axis=-1, keepdims=True)
    return state
