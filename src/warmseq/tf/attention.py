"""Multi-head attention: self-attention with a fused q/k/v projection, cross-attention over encoder states.

Heads are split to (batch, seq, heads, head_dim) and contracted with einsum, so the cached keys, laid
out (capacity, rows, heads, head_dim), are read without a transpose.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from warmseq.tf.cache import write_position
from warmseq.tf.layers import Linear


def split_heads(x: tf.Tensor, num_heads: int) -> tf.Tensor:
    # (batch, seq, hidden) -> (batch, seq, heads, head_dim)
    shape = tf.shape(x)
    return tf.reshape(x, (shape[0], shape[1], num_heads, x.shape[-1] // num_heads))


def merge_heads(x: tf.Tensor) -> tf.Tensor:
    # (batch, seq, heads, head_dim) -> (batch, seq, hidden)
    shape = tf.shape(x)
    return tf.reshape(x, (shape[0], shape[1], x.shape[-2] * x.shape[-1]))


def softmax_where(scores: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
    """Softmax over the last axis where `mask` (bool, broadcastable) is True; a row with no visible key
    gets zero weights (a zero output), as the PyTorch side gives it."""
    if mask is None:
        return tf.nn.softmax(scores, axis=-1)
    scores = tf.where(mask, scores, scores.dtype.min)
    return tf.where(mask, tf.nn.softmax(scores, axis=-1), 0.0)


class SelfAttention(keras.layers.Layer):
    def __init__(self, hidden_size: int, num_heads: int, dropout: float, bias: bool = True, **kw) -> None:
        super().__init__(**kw)
        self.num_heads = num_heads
        self.qkv = Linear(hidden_size, 3 * hidden_size, bias=bias)
        self.out = Linear(hidden_size, hidden_size, bias=bias)
        self.dropout = keras.layers.Dropout(dropout)
        self.built = True  # every weight exists from here on

    def call(self, x: tf.Tensor, visible: tf.Tensor | None, training: bool = False) -> tf.Tensor:
        """`x` (batch, seq, hidden); `visible` bool (batch, 1, seq, seq) or broadcastable, True where a key
        may be attended (not named `mask`: Keras gives that argument a meaning of its own)."""
        q, k, v = (split_heads(t, self.num_heads) for t in tf.split(self.qkv(x), 3, axis=-1))
        scale = q.shape[-1] ** -0.5
        scores = tf.einsum("bqhd,bkhd->bhqk", q * scale, k)
        weights = self.dropout(softmax_where(scores, visible), training=training)
        return self.out(merge_heads(tf.einsum("bhqk,bkhd->bqhd", weights, v)))

    def decode(
        self, x: tf.Tensor, keys: tf.Tensor, values: tf.Tensor, position: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One new token per row at `position`: `x` (rows, 1, hidden); returns output and updated buffers."""
        q, k, v = (split_heads(t, self.num_heads) for t in tf.split(self.qkv(x), 3, axis=-1))
        keys, values = write_position(keys, position, k[:, 0]), write_position(values, position, v[:, 0])
        scale = q.shape[-1] ** -0.5
        scores = tf.einsum("bqhd,kbhd->bhqk", q * scale, keys)  # (rows, heads, 1, capacity)
        visible = tf.range(tf.shape(keys)[0]) <= position  # buffer slots written so far
        weights = softmax_where(scores, visible)
        return self.out(merge_heads(tf.einsum("bhqk,kbhd->bqhd", weights, values))), keys, values


class CrossAttention(keras.layers.Layer):
    """Queries from the decoder, keys and values from the encoder's states (`memory`)."""

    def __init__(
        self, hidden_size: int, memory_size: int, num_heads: int, dropout: float, bias: bool = True, **kw
    ) -> None:
        super().__init__(**kw)
        self.num_heads = num_heads
        self.q = Linear(hidden_size, hidden_size, bias=bias)
        self.kv = Linear(memory_size, 2 * hidden_size, bias=bias)
        self.out = Linear(hidden_size, hidden_size, bias=bias)
        self.dropout = keras.layers.Dropout(dropout)
        self.built = True  # every weight exists from here on

    def project_memory(self, memory: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Keys and values of the encoder states, (sources, src_len, heads, head_dim) each."""
        k, v = tf.split(self.kv(memory), 2, axis=-1)
        return split_heads(k, self.num_heads), split_heads(v, self.num_heads)

    def call(
        self, x: tf.Tensor, memory_kv: tuple[tf.Tensor, tf.Tensor], memory_mask: tf.Tensor | None,
        training: bool = False,
    ) -> tf.Tensor:
        """`x` (rows, seq, hidden) holds rows_per_source rows for each source in `memory_kv`;
        `memory_mask` (sources, src_len) bool or None."""
        k, v = memory_kv
        q = split_heads(self.q(x), self.num_heads)  # (rows, seq, heads, head_dim)
        sources = tf.shape(k)[0]
        rows, seq = tf.shape(q)[0], tf.shape(q)[1]
        # (rows, seq, heads, d) -> (sources, per_source, seq, heads, d): a source's rows read its keys once
        q = tf.reshape(q, (sources, rows // sources, seq, self.num_heads, q.shape[-1]))
        scores = tf.einsum("spqhd,skhd->sphqk", q * q.shape[-1] ** -0.5, k)
        mask = None if memory_mask is None else memory_mask[:, None, None, None, :]
        weights = self.dropout(softmax_where(scores, mask), training=training)
        y = tf.einsum("sphqk,skhd->spqhd", weights, v)
        return self.out(tf.reshape(y, (rows, seq, self.num_heads * q.shape[-1])))
