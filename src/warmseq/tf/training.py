"""Keras training the model's own way: `compile(optimizer=...)` then `fit(dataset)`, no loss argument.

Each replica sums the loss over its target tokens and divides by the target tokens of the whole global
batch (summed across replicas), so the gradients that the optimizer sums across replicas are those of
the global batch's mean loss: N devices match one device with the N-times batch.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def as_inputs(data: Any) -> dict[str, Any]:
    """A batch from `fit`: a dict of model arguments, or (dict, labels)."""
    if isinstance(data, tuple | list):
        inputs = dict(data[0])
        if len(data) > 1 and data[1] is not None:
            inputs["labels"] = data[1]
        return inputs
    return dict(data)


def unique_variables(variables: list) -> list:
    """Each variable once (a shared encoder-decoder pair reaches some twice)."""
    return list({id(v): v for v in variables}.values())


class TrainStep:
    """Mixed into the Keras model: `train_step` / `test_step` with the token-normalised loss."""

    def global_mean_loss(self, inputs: dict[str, Any], training: bool) -> tf.Tensor:
        out = self(inputs, training=training, loss_reduction="sum")
        if out.loss is None:
            raise ValueError("fit/evaluate batches need 'labels' (target token ids, -100 where not scored)")
        count = tf.cast(out.num_target_tokens, tf.float32)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        return out.loss / tf.maximum(count, 1.0)

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        inputs = as_inputs(data)
        variables = unique_variables(self.trainable_weights)
        with tf.GradientTape() as tape:
            loss = self.global_mean_loss(inputs, training=True)
        gradients = tape.gradient(loss, variables)
        # embedding gradients come as IndexedSlices; summed across replicas as such they come out wrong
        # (tested: MirroredStrategy drifted from one device), so they are made dense first
        gradients = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in gradients]
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return self.track_loss(replicas_total(loss))

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        return self.track_loss(replicas_total(self.global_mean_loss(as_inputs(data), training=False)))

    def track_loss(self, loss: tf.Tensor) -> dict[str, tf.Tensor]:
        """Feed Keras's "loss" metric (the mean shown by fit and returned by evaluate)."""
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {metric.name: metric.result() for metric in self.metrics} or {"loss": loss}


def replicas_total(loss: tf.Tensor) -> tf.Tensor:
    """Each replica holds its share of the global mean; the sum is the global batch's mean loss."""
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        return context.all_reduce(tf.distribute.ReduceOp.SUM, loss)
    return loss
