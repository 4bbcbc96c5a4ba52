"""Keras training: step-0 loss and gradients equal the PyTorch side's; `fit` uses the model's own loss
(one SGD step = the PyTorch SGD step); a short run on real data lowers the loss; MirroredStrategy on two
logical CPUs gives the weights of one device with the doubled batch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import torch

from tests.tf.conftest import batch, max_diff, torch_batch, torch_pair
from warmseq import EncoderDecoderModel
from warmseq.tf import TFEncoderDecoderModel


def no_dropout_pair(tmp_path: Path):
    model = torch_pair("bert", "gpt2")
    for sub in (model.config.encoder, model.config.decoder):
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "resid_pdrop", "embd_pdrop", "attn_pdrop"):
            if hasattr(sub, name):
                setattr(sub, name, 0.0)
    model.save_pretrained(tmp_path)
    return EncoderDecoderModel.from_pretrained(tmp_path).train(), TFEncoderDecoderModel.from_pretrained(tmp_path)


def test_step_zero_loss_and_gradients_match_pytorch(tmp_path):
    reference, ours = no_dropout_pair(tmp_path)
    inputs = batch(reference)
    loss = reference(**torch_batch(inputs)).loss
    loss.backward()
    state = ours.torch_state()
    with tf.GradientTape() as tape:
        tf_loss = ours(inputs, training=True).loss
    names = [name for name, p in reference.named_parameters() if p.grad is not None]
    assert len(names) > 30
    grads = tape.gradient(tf_loss, [state[name][0] for name in names])
    assert abs(float(tf_loss) - loss.item()) < 1e-4
    for name, grad in zip(names, grads, strict=True):
        expected = dict(reference.named_parameters())[name].grad.numpy()
        grad = tf.convert_to_tensor(grad).numpy()  # embeddings get IndexedSlices
        got = grad.T if state[name][1] else grad
        assert max_diff(got, expected) < 1e-4, name


def test_fit_uses_the_models_own_loss(tmp_path):
    """compile without a loss, fit one batch with SGD: the weights move as the PyTorch SGD step moves them."""
    reference, ours = no_dropout_pair(tmp_path)
    inputs = batch(reference)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.5)
    reference(**torch_batch(inputs)).loss.backward()
    torch_optimizer.step()
    ours.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5))
    history = ours.fit(tf.data.Dataset.from_tensor_slices(inputs).batch(3), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    state = ours.torch_state()
    with torch.no_grad():
        for name, param in reference.named_parameters():
            variable, transposed = state[name]
            got = variable.numpy().T if transposed else variable.numpy()
            assert max_diff(got, param.numpy()) < 1e-5, name


def test_short_run_on_real_data_lowers_the_loss(tmp_path, minilm_dir):
    from warmseq import AutoTokenizer, BertConfig, EncoderDecoderConfig

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    rows = [json.loads(line) for line in (Path(__file__).parents[2] / "data/debian-synopsis/train.jsonl")
            .read_text(encoding="utf-8").splitlines()[:16]]
    encoded = tokenizer([r["text"] for r in rows], text_target=[r["summary"] for r in rows], padding=True,
                        truncation=True, max_length=32, return_tensors="np")
    labels = np.where(encoded["labels"] == tokenizer.pad_token_id, -100, encoded["labels"])
    small = dict(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=64)
    config = EncoderDecoderConfig.from_encoder_decoder_configs(BertConfig(**small), BertConfig(**small))
    config.decoder_start_token_id, config.pad_token_id = tokenizer.cls_token_id, tokenizer.pad_token_id
    model = TFEncoderDecoderModel(config)
    data = tf.data.Dataset.from_tensor_slices(dict(input_ids=encoded["input_ids"],
                                                   attention_mask=encoded["attention_mask"], labels=labels))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3))
    before = float(model.evaluate(data.batch(16), verbose=0))
    history = model.fit(data.batch(8).repeat(), steps_per_epoch=12, epochs=1, verbose=0).history["loss"]
    after = float(model.evaluate(data.batch(16), verbose=0))
    assert 0 < history[0] and after < before - 1.0, (before, history, after)


MIRRORED = r"""
import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from warmseq import EncoderDecoderModel
from warmseq.tf import TFEncoderDecoderModel
folder, inputs = sys.argv[1], {k: np.array(v) for k, v in json.loads(sys.argv[2]).items()}

def train(strategy):
    with strategy.scope():
        model = TFEncoderDecoderModel.from_pretrained(folder)
        # SGD: Adam divides by the gradients' size, so it magnifies rounding noise in gradients that are ~0
        # (the key bias: softmax ignores it); with Adam the two runs differ by ~5e-6 here
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0, momentum=0.5))
    data = tf.data.Dataset.from_tensor_slices(inputs).batch(4)  # 2 rows a replica under the mirror
    model.fit(data, epochs=3, verbose=0)
    return {name: v.numpy() for name, (v, _) in model.torch_state().items()}

mirrored = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
single = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
start = TFEncoderDecoderModel.from_pretrained(folder)
moved = max(float(np.abs(v.numpy() - single[n]).max()) for n, (v, _) in start.torch_state().items())
print(json.dumps({"diff": max(float(np.abs(mirrored[n] - single[n]).max()) for n in single), "moved": moved}))
"""


def test_mirrored_strategy_on_two_cpus_equals_one_device(tmp_path):
    reference = torch_pair("bert", "bert")
    inputs = batch(reference, rows=4)  # replicas get different numbers of target tokens
    arguments = json.dumps({k: v.tolist() for k, v in inputs.items()})
    env = {"PYTHONPATH": str(Path(__file__).parents[2] / "src"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    for sub in (reference.config.encoder, reference.config.decoder):  # dropout draws differ per replica
        sub.hidden_dropout_prob = sub.attention_probs_dropout_prob = 0.0
    reference.save_pretrained(tmp_path)
    done = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path), arguments], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["moved"] > 1e-3  # training changed the weights
    assert result["diff"] < 1e-5, result
