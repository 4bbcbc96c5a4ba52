"""Beam search with the peer's scoring as one `tf.while_loop` (XLA-compilable).

The twin of warmseq/generation/beam.py, step for step: each step keeps the best
K = max(2, 1 + n_eos) * beams continuations; the best `beams` that did not end keep running, those among
the first `beams` that ended compete for the finished slots with score sum_logprob / new_length **
length_penalty; the search stops when no running beam can beat the finished ones, when every source has
`beams` finished hypotheses and early_stopping is True, or at max_length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import tensorflow as tf

from warmseq.tf.greedy import Step, is_end, log_scores, score_log
from warmseq.tf.logits import Transform, apply_transforms

RULED_OUT = -1.0e9  # low enough to rule a candidate out while keeping arithmetic finite (the peer's constant)


class BeamState(NamedTuple):
    running_tokens: tf.Tensor  # (batch, beams, max_length) int32, fill value past cur_len
    running_scores: tf.Tensor  # (batch, beams) float32 summed log-probs; RULED_OUT for all but beam 0 at first
    finished_tokens: tf.Tensor  # (batch, beams, max_length) int32, best first
    finished_scores: tf.Tensor  # (batch, beams) float32 length-penalised; RULED_OUT where a slot is empty
    finished_lengths: tf.Tensor  # (batch, beams) int32 new tokens in each finished hypothesis
    is_finished: tf.Tensor  # (batch, beams) bool
    can_improve: tf.Tensor  # (batch, 1) bool

    @staticmethod
    def start(prompt: tf.Tensor, beams: int, max_length: int, fill_value: int) -> BeamState:
        batch, prompt_length = tf.shape(prompt)[0], prompt.shape[1]
        filler = tf.fill((batch, max_length - prompt_length), fill_value)
        running = tf.repeat(tf.concat([prompt, filler], axis=1)[:, None, :], beams, axis=1)
        scores = tf.tile(tf.concat([[0.0], tf.fill((beams - 1,), RULED_OUT)], axis=0)[None, :], (batch, 1))
        return BeamState(running, scores, running, tf.fill((batch, beams), RULED_OUT),
                         tf.zeros((batch, beams), tf.int32), tf.zeros((batch, beams), tf.bool),
                         tf.ones((batch, 1), tf.bool))


@dataclass(frozen=True)
class BeamSettings:
    beams: int
    length_penalty: float
    early_stopping: bool | str
    do_sample: bool = False


def beam_search(
    step: Step, cache: Any, prompt: tf.Tensor, max_length: int, eos_ids: list[int], settings: BeamSettings,
    transforms: list[Transform], fill_value: int, seed: tf.Tensor | None = None, scores_width: int = 0,
) -> tuple[BeamState, tf.Tensor, tf.Tensor]:
    """Run the search for `prompt` (batch, prompt_length); `cache` holds batch * beams rows. Returns the
    final state, the number of steps run and, with `scores_width` (the vocabulary size), each step's
    processed log-probabilities, (max_length - prompt_length, batch * beams, scores_width)."""
    beams, prompt_length = settings.beams, prompt.shape[1]
    batch = tf.shape(prompt)[0]
    keep = max(2, 1 + len(eos_ids)) * beams
    state = BeamState.start(prompt, beams, max_length, fill_value)
    rows_prompt = tf.repeat(prompt, beams, axis=0)
    for t in range(prompt_length - 1):  # all but the prompt's last token only fill the cache
        _, cache = step(rows_prompt[:, t : t + 1], tf.constant(t), cache)
    source_offset = tf.range(batch)[:, None] * beams  # (batch, 1)

    def body(cur_len, state, cache, done, log):
        new_tokens = tf.reshape(tf.gather(state.running_tokens, cur_len - 1, axis=2), (-1, 1))
        logits, cache = step(new_tokens, cur_len - 1, cache)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        history = tf.reshape(state.running_tokens, (-1, max_length))
        log_probs = apply_transforms(transforms, log_probs, history, cur_len)
        log = log_scores(log, cur_len - prompt_length, log_probs)
        vocab = log_probs.shape[-1]
        total = tf.reshape(log_probs, (batch, beams, vocab)) + state.running_scores[:, :, None]
        cand_scores, cand_index = pick_candidates(tf.reshape(total, (batch, beams * vocab)), keep,
                                                  settings.do_sample, seed, cur_len)
        cand_beam, cand_token = cand_index // vocab, cand_index % vocab  # (batch, keep)
        cand_tokens = tf.gather(state.running_tokens, cand_beam, batch_dims=1)  # (batch, keep, max_length)
        at_column = tf.range(max_length) == cur_len
        cand_tokens = tf.where(at_column, cand_token[:, :, None], cand_tokens)
        hits = tf.fill(tf.shape(cand_token), cur_len + 1 >= max_length)
        if eos_ids:
            hits |= is_end(cand_token, eos_ids)
        state, parent = keep_running(state, cand_tokens, cand_scores, cand_beam, hits, beams)
        state = keep_finished(state, cand_tokens, cand_scores, hits, cur_len + 1 - prompt_length, settings)
        cur_len += 1
        state = update_can_improve(state, cur_len - prompt_length, max_length - prompt_length, settings)
        cache = cache.select_rows(tf.reshape(parent + source_offset, (-1,)))
        return cur_len, state, cache, ~should_continue(state, hits, settings.early_stopping), log

    log = score_log(max_length - prompt_length, batch * beams, scores_width)
    cur_len, state, _, _, log = tf.while_loop(lambda cur_len, state, cache, done, log: ~done, body,
                                              (tf.constant(prompt_length), state, cache, tf.constant(False), log))
    return state, cur_len - prompt_length, log


def pick_candidates(total: tf.Tensor, keep: int, do_sample: bool, seed: tf.Tensor | None,
                    cur_len: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The `keep` best (or sampled, without replacement) continuations per source, best first."""
    if not do_sample:
        scores, index = tf.math.top_k(total, keep)
        return scores, index
    # Gumbel top-k: `keep` draws without replacement from softmax(total)
    uniform = tf.random.stateless_uniform(tf.shape(total), tf.stack([seed[0], seed[1] + cur_len]), minval=1e-20)
    noise = -tf.math.log(-tf.math.log(uniform))
    _, index = tf.math.top_k(tf.nn.log_softmax(total, axis=-1) + noise, keep)
    scores = tf.gather(total, index, batch_dims=1)
    order = tf.argsort(scores, axis=-1, direction="DESCENDING", stable=True)
    return tf.gather(scores, order, batch_dims=1), tf.gather(index, order, batch_dims=1)


def keep_running(state: BeamState, cand_tokens: tf.Tensor, cand_scores: tf.Tensor, cand_beam: tf.Tensor,
                 hits: tf.Tensor, beams: int) -> tuple[BeamState, tf.Tensor]:
    """Continue with the best `beams` candidates that did not end; also returns their parents (batch, beams)."""
    open_scores = cand_scores + tf.cast(hits, tf.float32) * RULED_OUT
    chosen = tf.math.top_k(open_scores, beams).indices
    state = state._replace(running_tokens=tf.gather(cand_tokens, chosen, batch_dims=1),
                           running_scores=tf.gather(open_scores, chosen, batch_dims=1))
    return state, tf.gather(cand_beam, chosen, batch_dims=1)


def keep_finished(state: BeamState, cand_tokens: tf.Tensor, cand_scores: tf.Tensor, hits: tf.Tensor,
                  new_length: tf.Tensor, settings: BeamSettings) -> BeamState:
    """Merge the candidates that just ended into the finished slots, keeping the best `beams`."""
    beams = settings.beams
    # only the first `beams` candidates may finish; the rest exist so that enough beams keep running
    just_finished = hits & (tf.range(hits.shape[1]) < beams)[None, :]
    scores = cand_scores / tf.cast(new_length, tf.float32) ** settings.length_penalty
    if settings.early_stopping is True:
        scores += tf.cast(tf.reduce_all(state.is_finished, axis=-1, keepdims=True), tf.float32) * RULED_OUT
    scores += tf.cast(~state.can_improve, tf.float32) * RULED_OUT
    scores += tf.cast(~just_finished, tf.float32) * RULED_OUT
    merged_scores = tf.concat([state.finished_scores, scores], axis=1)
    chosen = tf.math.top_k(merged_scores, beams).indices
    lengths = tf.fill(tf.shape(cand_scores), new_length)

    def merge(old: tf.Tensor, new: tf.Tensor) -> tf.Tensor:
        return tf.gather(tf.concat([old, new], axis=1), chosen, batch_dims=1)

    return state._replace(finished_tokens=merge(state.finished_tokens, cand_tokens),
                          finished_scores=tf.gather(merged_scores, chosen, batch_dims=1),
                          finished_lengths=merge(state.finished_lengths, lengths),
                          is_finished=merge(state.is_finished, just_finished))


def update_can_improve(state: BeamState, new_length: tf.Tensor, max_new_length: int,
                       settings: BeamSettings) -> BeamState:
    """Can the best running beam still beat the worst finished one? ("never": it may grow to the end)"""
    if settings.early_stopping == "never" and settings.length_penalty > 0.0:
        best_length = tf.constant(max_new_length)
    else:
        best_length = new_length
    best_possible = state.running_scores[:, :1] / tf.cast(best_length, tf.float32) ** settings.length_penalty
    worst = tf.where(state.is_finished, tf.reduce_min(state.finished_scores, axis=1, keepdims=True), RULED_OUT)
    improves = tf.reduce_any(best_possible > worst, axis=-1, keepdims=True)
    return state._replace(can_improve=state.can_improve & improves)


def should_continue(state: BeamState, hits: tf.Tensor, early_stopping: bool | str) -> tf.Tensor:
    go_on = tf.reduce_any(state.can_improve) & ~tf.reduce_all(hits)
    if early_stopping is True:
        go_on &= ~tf.reduce_all(state.is_finished)
    return go_on
