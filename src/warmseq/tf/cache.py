"""Decoder state between generation steps, as plain tensors so that it can be a `tf.while_loop` variable.

Self-attention keys and values live in fixed-size buffers, one pair per layer, laid out
(capacity, rows, heads, head_dim): position p of every row is one slice, so a step writes it with a single
scatter that XLA turns into an in-place update. The encoder's cross-attention keys and values are computed
once per source, (sources, src_len, heads, head_dim), and shared by that source's rows (beams, samples).
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf


class DecoderCache(NamedTuple):
    keys: tuple[tf.Tensor, ...]  # per layer (capacity, rows, heads, head_dim)
    values: tuple[tf.Tensor, ...]
    memory_kv: tuple[tuple[tf.Tensor, tf.Tensor], ...]  # per layer (sources, src_len, heads, head_dim) each
    memory_mask: tf.Tensor  # (sources, src_len) bool: True where a source token is real

    @staticmethod
    def allocate(
        rows: int, capacity: int, num_layers: int, num_heads: int, head_dim: int,
        memory_kv: tuple[tuple[tf.Tensor, tf.Tensor], ...], memory_mask: tf.Tensor,
    ) -> DecoderCache:
        zeros = tf.zeros((capacity, rows, num_heads, head_dim), dtype=memory_kv[0][0].dtype)
        return DecoderCache((zeros,) * num_layers, (zeros,) * num_layers, memory_kv, memory_mask)

    def select_rows(self, rows: tf.Tensor) -> DecoderCache:
        """Row r becomes old row rows[r] (beam search reordering); the shared encoder part stays."""
        keys = tuple(tf.gather(k, rows, axis=1) for k in self.keys)
        values = tuple(tf.gather(v, rows, axis=1) for v in self.values)
        return self._replace(keys=keys, values=values)


def write_position(buffer: tf.Tensor, position: tf.Tensor, new: tf.Tensor) -> tf.Tensor:
    """`buffer` (capacity, rows, heads, head_dim) with slice `position` set to `new` (rows, heads, head_dim)."""
    return tf.tensor_scatter_nd_update(buffer, tf.reshape(position, (1, 1)), new[None])


def expand_rows(x: tf.Tensor, per_source: int) -> tf.Tensor:
    """Repeat each source's row `per_source` times along axis 0, keeping a source's rows together."""
    return x if per_source == 1 else tf.repeat(x, per_source, axis=0)
