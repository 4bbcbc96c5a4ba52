"""Run in a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=2 (it must precede importing jax):
two optax steps data-parallel over two CPU devices and on one device with the same whole batch; prints a
JSON report of the largest parameter difference."""

from __future__ import annotations

import json

import jax
import numpy as np
import optax

from warmseq import BertConfig, EncoderDecoderConfig, FlaxEncoderDecoderModel
from warmseq.flax.training import data_parallel_mesh, make_train_step, replicate, shard_batch


def main() -> None:
    sizes = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=64)
    config = EncoderDecoderConfig.from_encoder_decoder_configs(BertConfig(**sizes), BertConfig(**sizes),
                                                               decoder_start_token_id=1, pad_token_id=0)
    rng = np.random.default_rng(0)
    ids = rng.integers(2, 99, (4, 10))
    mask = np.ones_like(ids)
    mask[1, 6:] = mask[3, 4:] = 0
    labels = rng.integers(2, 99, (4, 7))
    labels[0, 5:] = labels[2, 3:] = -100  # rows with different target counts: the mean is over the whole batch
    batch = dict(input_ids=np.where(mask == 1, ids, 0), attention_mask=mask, labels=labels)

    results = []
    for parallel in (True, False):
        model = FlaxEncoderDecoderModel(config, seed=0)
        step, params, opt_state = make_train_step(model, optax.adamw(1e-2), dropout=False)
        inputs = batch
        if parallel:
            mesh = data_parallel_mesh()
            params, opt_state, inputs = replicate(params, mesh), replicate(opt_state, mesh), shard_batch(batch, mesh)
            sharded = len(inputs["input_ids"].sharding.device_set) == 2
        else:
            one = jax.devices()[0]
            params, opt_state = jax.device_put(params, one), jax.device_put(opt_state, one)
        for number in range(2):
            params, opt_state, loss = step(params, opt_state, inputs, jax.random.key(number))
        results.append((jax.device_get(params), float(loss)))
    (parallel_params, parallel_loss), (single_params, single_loss) = results
    differences = jax.tree_util.tree_map(lambda a, b: float(np.abs(a - b).max()), parallel_params, single_params)
    print(json.dumps({"devices": len(jax.devices()), "sharded": sharded,
                      "max_difference": max(jax.tree_util.tree_leaves(differences)),
                      "loss_difference": abs(parallel_loss - single_loss)}))


if __name__ == "__main__":
    main()
