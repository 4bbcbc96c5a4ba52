"""Token-level cross-entropy with the PyTorch side's label semantics (-100 = not scored)."""

from __future__ import annotations

import tensorflow as tf

IGNORED = -100


def token_cross_entropy(logits: tf.Tensor, labels: tf.Tensor, label_smoothing: float = 0.0
                        ) -> tuple[tf.Tensor, tf.Tensor]:
    """Summed loss over positions whose label is not -100, and their count (int32).

    `logits` (..., vocab) float, `labels` (...) int. With `label_smoothing` e, each position's loss is
    (1 - e) * nll + e * mean over the vocabulary of -log p, as torch's cross_entropy defines it."""
    labels = tf.cast(labels, tf.int32)
    counts = labels != IGNORED
    safe = tf.where(counts, labels, 0)
    log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    nll = -tf.gather(log_probs, safe, batch_dims=labels.shape.rank)
    if label_smoothing:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * tf.reduce_mean(log_probs, axis=-1)
    total = tf.reduce_sum(tf.where(counts, nll, 0.0))
    return total, tf.reduce_sum(tf.cast(counts, tf.int32))
