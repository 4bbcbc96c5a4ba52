"""`tokenizer(..., return_tensors="tf")` gives TF tensors the TF model takes, equal to the NumPy ones."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from warmseq import AutoTokenizer


def test_return_tensors_tf(minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    texts = ["a tool to flash firmware", "debian package"]
    as_tf = tokenizer(texts, padding=True, return_tensors="tf")
    as_np = tokenizer(texts, padding=True, return_tensors="np")
    assert isinstance(as_tf["input_ids"], tf.Tensor) and as_tf["input_ids"].dtype == tf.int32
    for key in as_np:
        np.testing.assert_array_equal(as_tf[key].numpy(), as_np[key])
