"""Checks on what users pass to a model, with errors that say what was expected.

Token ids become int32 tensors. Values are checked when running eagerly; inside a traced function
(`tf.function`, `fit`) only dtypes and ranks can be checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf


def as_ids(ids: Any, argument: str) -> tf.Tensor:
    if isinstance(ids, tf.Tensor | tf.Variable):
        tensor = ids
    elif isinstance(ids, np.ndarray | list | tuple) or type(ids).__module__.startswith("torch"):
        tensor = tf.constant(np.asarray(ids))
    else:
        raise TypeError(f"{argument} must be a tensor or array of token ids, got {type(ids).__name__}")
    if not tensor.dtype.is_integer:
        raise TypeError(f"{argument} has dtype {tensor.dtype.name}; token ids must be integers (int32 or int64)")
    return tf.cast(tensor, tf.int32)


def check_token_ids(ids: Any, argument: str, vocab_size: int, max_length: int | None = None) -> tf.Tensor:
    ids = as_ids(ids, argument)
    if ids.shape.rank != 2:
        raise ValueError(f"{argument} has shape {tuple(ids.shape)}; expected (batch, sequence_length)")
    if max_length is not None and ids.shape[1] is not None and ids.shape[1] > max_length:
        raise ValueError(
            f"{argument} has {ids.shape[1]} tokens but the model holds at most {max_length} positions; "
            "truncate the input (tokenizer(..., truncation=True, max_length=...))"
        )
    if not tf.executing_eagerly():
        return ids
    if ids.shape.num_elements() == 0:
        raise ValueError(f"{argument} is empty (shape {tuple(ids.shape)}); expected at least one token")
    low, high = int(tf.reduce_min(ids)), int(tf.reduce_max(ids))
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        hint = " (-100 marks ignored positions in labels, not in inputs)" if bad == -100 else ""
        raise ValueError(f"{argument} holds token id {bad}, outside the vocabulary [0, {vocab_size}){hint}")
    return ids


def check_labels(labels: Any, vocab_size: int) -> tf.Tensor:
    labels = as_ids(labels, "labels")
    if tf.executing_eagerly():
        bad = tf.boolean_mask(labels, (labels != -100) & ((labels < 0) | (labels >= vocab_size)))
        if int(tf.size(bad)):
            raise ValueError(f"labels holds token id {int(bad[0])}, outside the vocabulary [0, {vocab_size}) "
                             "and not -100")
    return labels
