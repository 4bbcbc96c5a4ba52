"""The optax training step: loss and gradients at step 0 equal the PyTorch side's, real data lowers the loss,
bfloat16 compute trains, and two data-parallel devices give the one-device result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import DATA_DIR
from tests.flax.pairs import PAIRS, both, labels_for, padded_batch, source_vocab, target_vocab

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
from flax import nnx  # noqa: E402

from warmseq import BertConfig, EncoderDecoderConfig, FlaxEncoderDecoderModel  # noqa: E402
from warmseq.flax.checkpoint import read_param  # noqa: E402
from warmseq.flax.training import loss_function, make_train_step  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("name", ["bert2gpt2", "roberta2roberta-shared"])
def test_step0_loss_and_gradients_equal_pytorch(tmp_path, name):
    model, flax_model = both(name, tmp_path)
    ids, mask = padded_batch(source_vocab(model), PAIRS[name].pad)
    labels = labels_for(target_vocab(model))
    batch = dict(input_ids=ids, attention_mask=mask, labels=labels)
    loss = model(**{k: torch.as_tensor(v) for k, v in batch.items()}).loss
    loss.backward()
    flax_loss, params = loss_function(flax_model)
    value, grads = jax.jit(jax.value_and_grad(flax_loss))(params, batch, None)
    assert abs(float(value) - loss.item()) <= 1e-4
    with_grads = nnx.clone(flax_model)
    nnx.update(with_grads, grads)
    compared = 0
    for param_name, param in model.named_parameters():  # a shared tensor once, under the encoder's name
        got = read_param(with_grads, param_name)
        assert np.abs(got - param.grad.numpy()).max() <= 1e-4, param_name
        compared += 1
    assert compared == len(list(model.parameters())) > 20


def debian_batch(tokenizer, rows: int) -> dict[str, np.ndarray]:
    lines = (DATA_DIR / "debian-synopsis" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:rows]
    records = [json.loads(line) for line in lines]
    batch = tokenizer([r["text"] for r in records], text_target=[r["summary"] for r in records], padding=True,
                      truncation=True, max_length=48, return_tensors="np")
    labels = np.where(batch["labels"] == tokenizer.pad_token_id, -100, batch["labels"])
    return dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels)


def tiny_pair_config(vocab_size: int, tokenizer) -> EncoderDecoderConfig:
    sizes = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=48, max_position_embeddings=64)
    return EncoderDecoderConfig.from_encoder_decoder_configs(
        BertConfig(**sizes), BertConfig(**sizes), decoder_start_token_id=tokenizer.cls_token_id,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.sep_token_id)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_steps_on_debian_synopses_lower_the_loss(minilm_dir, dtype):
    from warmseq import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    batch = debian_batch(tokenizer, rows=8)
    model = FlaxEncoderDecoderModel(tiny_pair_config(tokenizer.vocab_size, tokenizer), seed=0,
                                    dtype=getattr(jax.numpy, dtype))
    step, params, opt_state = make_train_step(model, optax.adamw(3e-3))
    losses = []
    for number in range(8):
        params, opt_state, loss = step(params, opt_state, batch, jax.random.key(number))
        losses.append(float(loss))
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.5, losses
    assert jax.tree_util.tree_leaves(params)[0].dtype == jax.numpy.float32  # parameters stay float32
    model.params = params
    after = model(**batch).loss
    assert float(after) < losses[0]


def test_two_devices_give_the_one_device_parameters(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, str(HERE / "data_parallel_child.py"), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["devices"] == 2
    assert report["sharded"]  # the batch really was split over both devices
    assert report["max_difference"] <= 1e-5, report
    assert report["loss_difference"] <= 1e-5, report
