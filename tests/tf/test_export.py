"""The exported SavedModel, loaded with tf.saved_model.load in a fresh process (no warmseq), gives the
tokens of the model's own generate."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.tf.conftest import batch, torch_pair
from warmseq.tf import TFEncoderDecoderModel
from warmseq.tf.export import export_saved_model

LOAD_AND_RUN = r"""
import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf
served = tf.saved_model.load(sys.argv[1])
inputs = {k: tf.constant(np.array(v), tf.int32) for k, v in json.loads(sys.argv[2]).items()}
out = served.signatures["serving_default"](**inputs)
states = served.encode(**inputs)["last_hidden_state"]
print(json.dumps({"sequences": out["sequences"].numpy().tolist(), "lengths": out["lengths"].numpy().tolist(),
                  "states": float(tf.reduce_sum(states))}))
"""


@pytest.mark.parametrize("settings", [dict(max_new_tokens=8), dict(num_beams=3, max_new_tokens=8)],
                         ids=["greedy", "beam3"])
def test_saved_model_reproduces_generate_in_a_fresh_process(tmp_path, settings):
    reference = torch_pair("bert", "bert")
    reference.save_pretrained(tmp_path / "model")
    model = TFEncoderDecoderModel.from_pretrained(tmp_path / "model")
    inputs = batch(reference)
    del inputs["labels"]
    export_saved_model(model, tmp_path / "served", **settings)
    done = subprocess.run([sys.executable, "-c", LOAD_AND_RUN, str(tmp_path / "served"),
                           json.dumps({k: v.tolist() for k, v in inputs.items()})],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    served = json.loads(done.stdout.strip().splitlines()[-1])
    expected = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], jit_compile=False,
                              **settings).numpy()
    np.testing.assert_array_equal(np.array(served["sequences"]), expected)
    states = model.encoder(inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
    assert abs(served["states"] - float(np.sum(states))) < 1e-3


def test_export_refuses_what_it_cannot_serve(tmp_path):
    reference = torch_pair("bert", "bert")
    reference.save_pretrained(tmp_path / "model")
    model = TFEncoderDecoderModel.from_pretrained(tmp_path / "model")
    with pytest.raises(ValueError, match="output_scores is not exported"):
        export_saved_model(model, tmp_path / "served", max_new_tokens=4, output_scores=True)
    with pytest.raises(ValueError, match="do_sample=True"):
        export_saved_model(model, tmp_path / "served", max_new_tokens=4, do_sample=True)
    assert not (tmp_path / "served").exists()
