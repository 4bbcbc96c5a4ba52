"""Logits transforms in TF ops with static shapes: `(scores, history, cur_len) -> scores`.

The twins of warmseq/generation/logits.py and sampling.py, in the same order. `history` is the whole
fixed-size token buffer (rows, max_length), of which the first `cur_len` columns (a scalar tensor) are
real, so the transforms compile once for every step of an XLA loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import tensorflow as tf

from warmseq.generation.config import GenerationConfig, as_id_list

Transform = Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]
NEG_INF = float("-inf")


def token_mask(tokens: tf.Tensor, valid: tf.Tensor, vocab: int) -> tf.Tensor:
    """(rows, vocab) bool: True where a row holds that token at a valid position. `tokens`, `valid` (rows, n)."""
    rows = tf.shape(tokens)[0]
    row_ids = tf.broadcast_to(tf.range(rows)[:, None], tf.shape(tokens))
    safe = tf.clip_by_value(tokens, 0, vocab - 1)  # beam buffers may hold -1 past the end
    counts = tf.scatter_nd(tf.stack([row_ids, safe], axis=-1), tf.cast(valid, tf.int32), (rows, vocab))
    return counts > 0


def columns(vocab: int, ids: list[int]) -> tf.Tensor:
    """(vocab,) bool: True at `ids`."""
    return tf.reduce_any(tf.range(vocab)[:, None] == tf.constant(ids, tf.int32)[None, :], axis=-1)


def last_tokens(history: tf.Tensor, cur_len: tf.Tensor, count: int) -> tf.Tensor:
    """The `count` tokens before `cur_len` in each row, (rows, count) (clamped at the start)."""
    positions = tf.maximum(cur_len - count + tf.range(count), 0)
    return tf.gather(history, positions, axis=1)


def penalize_repetition(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, penalty: float) -> tf.Tensor:
    """Make every token already in the history less likely: divide a positive score, multiply a negative one."""
    valid = tf.broadcast_to(tf.range(tf.shape(history)[1])[None, :] < cur_len, tf.shape(history))
    seen = token_mask(history, valid, scores.shape[-1])
    return tf.where(seen, tf.where(scores < 0, scores * penalty, scores / penalty), scores)


def block_repeated_ngrams(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, size: int) -> tf.Tensor:
    """Ban each token that would complete an n-gram of `size` tokens already in the history."""
    length = history.shape[1]
    if length < size:
        return scores
    starts = length - size + 1
    windows = tf.stack([history[:, i : i + starts] for i in range(size)], axis=-1)  # (rows, starts, size)
    inside = tf.range(starts) + size <= cur_len  # the window lies in the real history
    suffix = last_tokens(history, cur_len, size - 1)  # (rows, size - 1)
    matches = tf.reduce_all(windows[..., :-1] == suffix[:, None, :], axis=-1) & inside[None, :]
    return tf.where(token_mask(windows[..., -1], matches, scores.shape[-1]), NEG_INF, scores)


def ban_words(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, words: list[list[int]]) -> tf.Tensor:
    """Ban one-token words always, and the last token of a longer word whenever its prefix ends the history."""
    vocab = scores.shape[-1]
    single = sorted({w[0] for w in words if len(w) == 1})
    if single:
        scores = tf.where(columns(vocab, single)[None, :], NEG_INF, scores)
    for word in (w for w in words if len(w) > 1):
        prefix = len(word) - 1
        hit = tf.reduce_all(last_tokens(history, cur_len, prefix) == tf.constant(word[:-1], tf.int32), axis=-1)
        hit &= cur_len >= prefix
        scores = tf.where(hit[:, None] & columns(vocab, [word[-1]])[None, :], NEG_INF, scores)
    return scores


def suppress_eos(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, min_length: int,
                 eos_ids: list[int]) -> tf.Tensor:
    """Forbid the end tokens while the history is shorter than `min_length` (prompt included)."""
    return tf.where((cur_len < min_length) & columns(scores.shape[-1], eos_ids)[None, :], NEG_INF, scores)


def force_tokens(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, at_length: int,
                 token_ids: list[int]) -> tf.Tensor:
    """When the history has `at_length` tokens, leave only `token_ids` possible (score 0, the rest -inf)."""
    forced = tf.where(columns(scores.shape[-1], token_ids)[None, :], 0.0, NEG_INF)
    return tf.where(cur_len == at_length, forced + tf.zeros_like(scores), scores)


def scale_temperature(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, temperature: float) -> tf.Tensor:
    return scores / temperature


def keep_top_k(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, top_k: int) -> tf.Tensor:
    """Set every score below the k-th largest of its row to -inf (ties with the k-th are kept)."""
    kth = tf.math.top_k(scores, min(top_k, scores.shape[-1])).values[:, -1:]
    return tf.where(scores < kth, NEG_INF, scores)


def keep_top_p(scores: tf.Tensor, history: tf.Tensor, cur_len: tf.Tensor, *, top_p: float, min_tokens_to_keep: int,
               candidates: int | None) -> tf.Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches `top_p`; only the top
    `candidates` are sorted when a top-k filter ran before."""
    vocab = scores.shape[-1]
    values, indices = tf.math.top_k(scores, min(candidates or vocab, vocab))
    values, indices = values[:, ::-1], indices[:, ::-1]  # ascending
    cumulative = tf.cumsum(tf.nn.softmax(values, axis=-1), axis=-1)
    count = values.shape[-1]
    drop = (cumulative <= 1 - top_p) & (tf.range(count) < count - min_tokens_to_keep)[None, :]
    return tf.where(token_mask(indices, drop, vocab), NEG_INF, scores)


def build_transforms(config: GenerationConfig, *, prompt_length: int, max_length: int, vocab_size: int,
                     min_tokens_to_keep: int) -> list[Transform]:
    """The transforms `config` asks for, in the PyTorch side's order, sampling warpers last."""
    transforms: list[Transform] = []
    eos_ids = config.eos_token_ids()
    if config.repetition_penalty != 1.0:
        transforms.append(functools.partial(penalize_repetition, penalty=float(config.repetition_penalty)))
    if config.no_repeat_ngram_size > 0:
        transforms.append(functools.partial(block_repeated_ngrams, size=config.no_repeat_ngram_size))
    if config.bad_words_ids is not None:
        too_large = sorted({i for word in config.bad_words_ids for i in word if i >= vocab_size})
        if too_large:
            raise ValueError(f"bad_words_ids holds ids {too_large} outside the vocabulary of {vocab_size} tokens")
        # a word that is just an end token is ignored: banning it would make ending impossible
        words = [w for w in config.bad_words_ids if not (len(w) == 1 and w[0] in eos_ids)]
        transforms.append(functools.partial(ban_words, words=words))
    if eos_ids:
        min_length = config.min_length
        if config.min_new_tokens is not None:
            min_length = prompt_length + config.min_new_tokens
        if min_length > 0:
            transforms.append(functools.partial(suppress_eos, min_length=min_length, eos_ids=eos_ids))
    if config.forced_bos_token_id is not None:
        transforms.append(functools.partial(force_tokens, at_length=1, token_ids=[config.forced_bos_token_id]))
    if config.forced_eos_token_id is not None:
        transforms.append(functools.partial(force_tokens, at_length=max_length - 1,
                                            token_ids=as_id_list(config.forced_eos_token_id)))
    if config.do_sample:
        if config.temperature != 1.0:
            transforms.append(functools.partial(scale_temperature, temperature=float(config.temperature)))
        top_k = None
        if config.top_k:
            top_k = max(config.top_k, min_tokens_to_keep)
            transforms.append(functools.partial(keep_top_k, top_k=top_k))
        if config.top_p < 1.0:
            transforms.append(functools.partial(keep_top_p, top_p=float(config.top_p),
                                                min_tokens_to_keep=min_tokens_to_keep, candidates=top_k))
    return transforms


def apply_transforms(transforms: list[Transform], scores: tf.Tensor, history: tf.Tensor,
                     cur_len: tf.Tensor) -> tf.Tensor:
    for transform in transforms:
        scores = transform(scores, history, cur_len)
    return scores
