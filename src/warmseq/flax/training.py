"""A training step with optax: loss, gradients and update in one jit-compiled function, data-parallel
over a `jax.sharding` mesh when the batch is sharded across devices.

    step, params, opt_state = make_train_step(model, optax.adamw(5e-5))
    for number, batch in enumerate(batches):   # dicts of input_ids, attention_mask, labels (-100 ignored)
        params, opt_state, loss = step(params, opt_state, batch, jax.random.key(number))
    model.params = params                      # back into the model, e.g. before save_pretrained

The loss is the mean over every target token of the whole batch (labels -100 ignored), as on the PyTorch
side. Under a mesh (`data_parallel_mesh`, `shard_batch`, `replicate`) XLA splits the batch across devices
and sums the gradients, so the step equals the one-device step on the whole batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from warmseq.flax.pretrained import FlaxPreTrainedModel

Batch = dict[str, Any]
BATCH_FIELDS = ("input_ids", "attention_mask", "decoder_input_ids", "decoder_attention_mask", "labels")


def loss_function(model: FlaxPreTrainedModel) -> tuple[Callable[..., jax.Array], nnx.State]:
    """(loss(params, batch, dropout_key or None), params): the model's loss as a pure function of its parameters."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(params: nnx.State, batch: Batch, dropout_key: jax.Array | None) -> jax.Array:
        unknown = set(batch) - set(BATCH_FIELDS)
        if unknown:
            raise ValueError(f"training batch has fields {sorted(unknown)}; expected some of {list(BATCH_FIELDS)}")
        if "labels" not in batch:
            raise ValueError("training batch has no 'labels': the loss needs the target ids (-100 to ignore)")
        module = nnx.merge(graphdef, params, rest)
        return module(**batch, train=dropout_key is not None, dropout_rng=dropout_key).loss

    return loss, params


def make_train_step(model: FlaxPreTrainedModel, optimizer: optax.GradientTransformation, *, dropout: bool = True
                    ) -> tuple[Callable[..., tuple[nnx.State, Any, jax.Array]], nnx.State, Any]:
    """(step, params, opt_state). `step(params, opt_state, batch, key)` -> (params, opt_state, loss), jit-compiled;
    `key` (a jax.random key) seeds dropout, which `dropout=False` turns off."""
    loss, params = loss_function(model)

    def step(params: nnx.State, opt_state: Any, batch: Batch, key: jax.Array) -> tuple[nnx.State, Any, jax.Array]:
        value, grads = jax.value_and_grad(loss)(params, batch, key if dropout else None)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return jax.jit(step), params, optimizer.init(params)


def data_parallel_mesh(devices: list | None = None) -> Mesh:
    """A one-axis mesh ("data") over `devices` (default: all)."""
    return Mesh(np.asarray(devices if devices is not None else jax.devices()), ("data",))


def shard_batch(batch: Batch, mesh: Mesh) -> Batch:
    """Each array of `batch` split along its first axis across the mesh's "data" axis."""
    rows = {np.shape(v)[0] for v in batch.values()}
    devices = mesh.devices.size
    if any(r % devices for r in rows):
        raise ValueError(f"batch of {sorted(rows)} rows does not split evenly over {devices} devices")
    sharding = NamedSharding(mesh, PartitionSpec("data"))
    return {k: jax.device_put(np.asarray(v), sharding) for k, v in batch.items()}


def replicate(tree: Any, mesh: Mesh) -> Any:
    """A full copy of `tree` (parameters, optimizer state) on every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))
