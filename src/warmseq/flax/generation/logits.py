"""Logits transforms as pure JAX functions `(scores, history, cur_len) -> scores`, shapes fixed for XLA.

The twin of warmseq/generation/logits.py and sampling.py: `history` is the whole (rows, max_length) token
buffer and `cur_len` (a traced scalar) says how much of it is filled, so each transform compiles once for
every step. Built from a `GenerationConfig` in the PyTorch side's order, so equal logits give equal tokens."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from warmseq.generation.config import GenerationConfig, as_id_list

Transform = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
NEG_INF = -jnp.inf


def runtime_constant(value: float) -> jax.Array:
    """`value` as an array XLA cannot fold: it would turn `x / 1.7` into `x * (1 / 1.7)`, an ulp away from
    the division the PyTorch side does (a tie broken differently then picks another token)."""
    return jax.lax.optimization_barrier(jnp.asarray(value, jnp.float32))


def mark(shape: tuple[int, int], columns: jax.Array, hits: jax.Array) -> jax.Array:
    """(rows, vocab) bool: True at [r, columns[r, j]] wherever hits[r, j]."""
    rows = jnp.arange(shape[0])[:, None]
    return jnp.zeros(shape, jnp.int32).at[rows, columns].add(hits.astype(jnp.int32)) > 0


def penalize_repetition(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, penalty: float) -> jax.Array:
    """Make every token already in the history less likely: divide a positive score, multiply a negative one."""
    filled = jnp.broadcast_to(jnp.arange(history.shape[1]) < cur_len, history.shape)
    seen = mark(scores.shape, history, filled)
    penalty = runtime_constant(penalty)
    return jnp.where(seen, jnp.where(scores < 0, scores * penalty, scores / penalty), scores)


def block_repeated_ngrams(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, size: int) -> jax.Array:
    """Ban each token that would complete an n-gram of `size` tokens already present in the history."""
    length = history.shape[1]
    if size > length:
        return scores
    starts = jnp.arange(length - size + 1)
    windows = history[:, starts[:, None] + jnp.arange(size)[None, :]]  # (rows, windows, size)
    suffix = jax.lax.dynamic_slice_in_dim(history, jnp.maximum(cur_len - (size - 1), 0), size - 1, axis=1)
    complete = starts + size <= cur_len  # windows wholly inside the filled part
    matches = jnp.all(windows[..., :-1] == suffix[:, None, :], axis=-1) & complete[None, :]  # (rows, windows)
    return jnp.where(mark(scores.shape, windows[..., -1], matches), NEG_INF, scores)


def ban_words(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, single: tuple[int, ...],
              prefixes: tuple[tuple[tuple[tuple[int, ...], ...], tuple[int, ...]], ...]) -> jax.Array:
    """Ban one-token words always, and the last token of a longer word whenever its prefix ends the history.

    `prefixes` holds, per prefix length p, (prefix ids of each word (words, p), last id of each word)."""
    if single:
        scores = scores.at[:, jnp.asarray(single)].set(NEG_INF)
    for words, last in prefixes:
        words_array = jnp.asarray(words)  # (words, p)
        p = words_array.shape[1]
        tail = jax.lax.dynamic_slice_in_dim(history, jnp.maximum(cur_len - p, 0), p, axis=1)  # (rows, p)
        hits = jnp.all(tail[:, None, :] == words_array[None], axis=-1) & (cur_len >= p)  # (rows, words)
        columns = jnp.broadcast_to(jnp.asarray(last)[None, :], hits.shape)
        scores = jnp.where(mark(scores.shape, columns, hits), NEG_INF, scores)
    return scores


def suppress_eos(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, min_length: int,
                 eos_ids: tuple[int, ...]) -> jax.Array:
    """Forbid the end tokens while fewer than `min_length` tokens (prompt included) exist."""
    return jnp.where(cur_len < min_length, scores.at[:, jnp.asarray(eos_ids)].set(NEG_INF), scores)


def force_tokens(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, at_length: int,
                 token_ids: tuple[int, ...]) -> jax.Array:
    """When `at_length` tokens exist, leave only `token_ids` possible (score 0, the rest -inf)."""
    forced = jnp.full_like(scores, NEG_INF).at[:, jnp.asarray(token_ids)].set(0.0)
    return jnp.where(cur_len == at_length, forced, scores)


def scale_temperature(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, temperature: float) -> jax.Array:
    return scores / runtime_constant(temperature)


def keep_top_k(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, top_k: int) -> jax.Array:
    """Set every score below the k-th largest of its row to -inf (ties with the k-th are kept)."""
    kth = jax.lax.top_k(scores, min(top_k, scores.shape[-1]))[0][:, -1:]
    return jnp.where(scores < kth, NEG_INF, scores)


def keep_top_p(scores: jax.Array, history: jax.Array, cur_len: jax.Array, *, top_p: float,
               min_tokens_to_keep: int) -> jax.Array:
    """Keep the smallest set of most likely tokens whose probability reaches `top_p`; -inf for the rest."""
    order = jnp.argsort(scores, axis=-1)  # ascending
    values = jnp.take_along_axis(scores, order, axis=-1)
    cumulative = jnp.cumsum(jax.nn.softmax(values, axis=-1), axis=-1)
    drop = cumulative <= (1 - top_p)
    drop = drop.at[:, -min_tokens_to_keep:].set(False)
    rows = jnp.arange(scores.shape[0])[:, None]
    return scores.at[rows, order].set(jnp.where(drop, NEG_INF, values))


def build_transforms(config: GenerationConfig, *, prompt_length: int, max_length: int, vocab_size: int,
                     min_tokens_to_keep: int) -> list[Transform]:
    """The transforms `config` asks for, in the order they run; the sampling filters last when sampling."""
    transforms: list[Transform] = []
    eos_ids = tuple(config.eos_token_ids())
    if config.repetition_penalty != 1.0:
        transforms.append(functools.partial(penalize_repetition, penalty=float(config.repetition_penalty)))
    if config.no_repeat_ngram_size > 0:
        transforms.append(functools.partial(block_repeated_ngrams, size=config.no_repeat_ngram_size))
    if config.bad_words_ids is not None:
        transforms.append(bad_words_transform(config.bad_words_ids, eos_ids, vocab_size))
    if eos_ids:
        min_length = config.min_length
        if config.min_new_tokens is not None:
            min_length = prompt_length + config.min_new_tokens
        if min_length > 0:
            transforms.append(functools.partial(suppress_eos, min_length=min_length, eos_ids=eos_ids))
    if config.forced_bos_token_id is not None:
        transforms.append(functools.partial(force_tokens, at_length=1, token_ids=(config.forced_bos_token_id,)))
    if config.forced_eos_token_id is not None:
        transforms.append(functools.partial(force_tokens, at_length=max_length - 1,
                                            token_ids=tuple(as_id_list(config.forced_eos_token_id))))
    if config.do_sample:
        if config.temperature != 1.0:
            transforms.append(functools.partial(scale_temperature, temperature=float(config.temperature)))
        if config.top_k:
            transforms.append(functools.partial(keep_top_k, top_k=max(config.top_k, min_tokens_to_keep)))
        if config.top_p < 1.0:
            transforms.append(functools.partial(keep_top_p, top_p=float(config.top_p),
                                                min_tokens_to_keep=min_tokens_to_keep))
    return transforms


def bad_words_transform(words: list[list[int]], eos_ids: tuple[int, ...], vocab_size: int) -> Transform:
    too_large = sorted({i for word in words for i in word if i >= vocab_size})
    if too_large:
        raise ValueError(f"bad_words_ids holds ids {too_large} outside the vocabulary of {vocab_size} tokens")
    # a word that is just an end token is ignored: banning it would make ending impossible
    words = [w for w in words if not (len(w) == 1 and w[0] in eos_ids)]
    single = tuple(sorted({w[0] for w in words if len(w) == 1}))
    by_length: dict[int, list[list[int]]] = {}
    for word in words:
        if len(word) > 1:
            by_length.setdefault(len(word) - 1, []).append(word)
    prefixes = tuple((tuple(tuple(w[:-1]) for w in group), tuple(w[-1] for w in group))
                     for group in by_length.values())
    return functools.partial(ban_words, single=single, prefixes=prefixes)


def apply_transforms(transforms: list[Transform], scores: jax.Array, history: jax.Array,
                     cur_len: jax.Array) -> jax.Array:
    for transform in transforms:
        scores = transform(scores, history, cur_len)
    return scores
