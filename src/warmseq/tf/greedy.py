"""Greedy search and sampling as one `tf.while_loop` over a fixed-size token buffer (XLA-compilable).

The twin of warmseq/generation/greedy.py. Step t feeds the token at position t and chooses the one at
t + 1; while t + 1 is still inside the decoder prompt, the prompt's token is kept instead, so prompts of
any length run through the same loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from warmseq.tf.logits import Transform, apply_transforms

Step = Callable[[tf.Tensor, tf.Tensor, Any], tuple[tf.Tensor, Any]]  # (tokens (rows, 1), position, cache)


def is_end(tokens: tf.Tensor, eos_ids: list[int]) -> tf.Tensor:
    return tf.reduce_any(tokens[..., None] == tf.constant(eos_ids, tf.int32), axis=-1)


def write_column(tokens: tf.Tensor, column: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    """`tokens` (rows, length) with `column` (a scalar tensor) set to `values` (rows,)."""
    at_column = tf.range(tokens.shape[1])[None, :] == column
    return tf.where(at_column, values[:, None], tokens)


def score_log(steps: int, rows: tf.Tensor, scores_width: int) -> tf.Tensor:
    """Room for each step's processed scores, (steps, rows, scores_width); (0,) when none are kept."""
    return tf.zeros((steps, rows, scores_width)) if scores_width else tf.zeros((0,))


def log_scores(log: tf.Tensor, index: tf.Tensor, scores: tf.Tensor) -> tf.Tensor:
    """`log` with step `index` set to `scores` (rows, vocab): in place under XLA (a dynamic update slice)."""
    if log.shape.rank == 1:  # nothing kept
        return log
    return tf.tensor_scatter_nd_update(log, tf.reshape(index, (1, 1)), scores[None])


def greedy_search(
    step: Step, cache: Any, prompt: tf.Tensor, max_length: int, eos_ids: list[int], pad_token_id: int,
    transforms: list[Transform], do_sample: bool = False, seed: tf.Tensor | None = None, scores_width: int = 0,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Fill a (rows, max_length) buffer after `prompt` (rows, prompt_length); returns it, how many of its
    columns are filled, and with `scores_width` (the vocabulary size) the processed scores each step saw,
    (max_length - 1, rows, scores_width), step t choosing column t + 1. Rows that ended get `pad_token_id`
    afterwards."""
    rows, prompt_length = tf.shape(prompt)[0], prompt.shape[1]
    tokens = tf.concat([prompt, tf.fill((rows, max_length - prompt_length), pad_token_id)], axis=1)
    unfinished = tf.ones((rows,), tf.bool)

    def body(t, tokens, cache, unfinished, done, log):
        logits, cache = step(tokens[:, t][:, None], t, cache)
        cur_len = t + 1
        scores = apply_transforms(transforms, tf.cast(logits, tf.float32), tokens, cur_len)
        log = log_scores(log, t, scores)
        if do_sample:
            step_seed = tf.stack([seed[0], seed[1] + t])
            chosen = tf.cast(tf.random.stateless_categorical(scores, 1, step_seed)[:, 0], tf.int32)
        else:
            chosen = tf.argmax(scores, axis=-1, output_type=tf.int32)
        if eos_ids:
            chosen = tf.where(unfinished, chosen, pad_token_id)
        in_prompt = cur_len < prompt_length
        chosen = tf.where(in_prompt, tf.gather(tokens, tf.minimum(cur_len, max_length - 1), axis=1), chosen)
        tokens = write_column(tokens, cur_len, chosen)
        if eos_ids:
            unfinished &= ~(is_end(chosen, eos_ids) & ~in_prompt)
            done = ~in_prompt & ~tf.reduce_any(unfinished)
        return cur_len, tokens, cache, unfinished, done, log

    t, tokens, _, _, _, log = tf.while_loop(
        lambda t, tokens, cache, unfinished, done, log: (t < max_length - 1) & ~done,
        body, (tf.constant(0), tokens, cache, unfinished, tf.constant(False),
               score_log(max_length - 1, rows, scores_width)),
    )
    return tokens, t + 1, log
