"""Bad input to the Flax port gets a one-line error naming the argument and what was expected."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.flax.pairs import both, padded_batch


@pytest.fixture(scope="module")
def flax_model(tmp_path_factory):
    return both("bert2bert", tmp_path_factory.mktemp("pair"))[1]


def test_missing_extra_names_the_install_command():
    # a child process in which importing jax fails, as it does without the extra
    code = ("import sys; sys.modules['jax'] = None\n"
            "try:\n    from warmseq import FlaxEncoderDecoderModel\n"
            "except ImportError as error:\n    print(error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert 'pip install "warmseq[flax]"' in out, out


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(num_beam=2), TypeError, "no field 'num_beam'; did you mean 'num_beams'"),
    (dict(max_new_tokens=100), ValueError, "max_positions=64; ask for at most 63 new tokens"),
    (dict(num_beams=2, num_return_sequences=3), ValueError, "num_return_sequences=3 is larger than num_beams=2"),
    (dict(do_sample=True, temperature=0.0), ValueError, "temperature must be > 0"),
    (dict(decoder_start_token_id=None, max_new_tokens=3), ValueError, None),
])
def test_generate_arguments_are_checked_as_on_the_pytorch_side(flax_model, kwargs, error, message):
    ids, mask = padded_batch(99, 0)
    if message is None:  # no start token anywhere: cleared in the model's config and its generation config
        flax_model.config.decoder_start_token_id = flax_model.generation_config.decoder_start_token_id = None
        try:
            with pytest.raises(error, match="needs the token that starts every target"):
                flax_model.generate(ids, attention_mask=mask, **{k: v for k, v in kwargs.items() if v})
        finally:
            flax_model.config.decoder_start_token_id = flax_model.generation_config.decoder_start_token_id = 0
        return
    with pytest.raises(error, match=message):
        flax_model.generate(ids, attention_mask=mask, **kwargs)


def test_token_ids_outside_the_vocabulary(flax_model):
    ids, mask = padded_batch(99, 0)
    with pytest.raises(ValueError, match=r"input_ids holds token id 120, outside the vocabulary \[0, 99\)"):
        flax_model(input_ids=np.where(ids == ids[0, 0], 120, ids), attention_mask=mask, decoder_input_ids=ids)
    with pytest.raises(ValueError, match=r"labels holds token id 99"):
        flax_model(input_ids=ids, attention_mask=mask, labels=np.full((3, 2), 99))
    with pytest.raises(TypeError, match="input_ids has dtype float"):
        flax_model.generate(ids.astype(float))


def test_training_call_needs_a_dropout_key(flax_model):
    ids, mask = padded_batch(99, 0)
    with pytest.raises(ValueError, match=r"train=True needs dropout_rng=jax.random.key"):
        flax_model(input_ids=ids, attention_mask=mask, decoder_input_ids=ids, train=True)


@pytest.mark.parametrize("field", ["decoder_start_token_id", "pad_token_id"])
def test_labels_need_the_start_and_pad_ids(flax_model, field):
    ids, mask = padded_batch(99, 0)
    kept = getattr(flax_model.config, field)
    setattr(flax_model.config, field, None)
    try:
        with pytest.raises(ValueError, match=f"labels were given but model.config.{field} is not set"):
            flax_model(input_ids=ids, attention_mask=mask, labels=ids[:, :3])
    finally:
        setattr(flax_model.config, field, kept)
