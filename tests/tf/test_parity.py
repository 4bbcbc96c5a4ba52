"""The TF model loads a PyTorch-saved pair folder as it is and gives the PyTorch side's logits and loss."""

from __future__ import annotations

import pytest
import torch

from tests.tf.conftest import PAIRS, batch, max_diff, pair_id, torch_batch, torch_pair
from warmseq import EncoderDecoderModel
from warmseq.tf import TFEncoderDecoderModel

ATOL = 1e-4  # the bar; observed differences are ~1e-6


def clean(info: dict) -> bool:
    return not (info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"])


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_from_pretrained_matches_pytorch(tmp_path, pair):
    model = torch_pair(*pair)
    model.save_pretrained(tmp_path)
    ours, info = TFEncoderDecoderModel.from_pretrained(tmp_path, from_pt=True, output_loading_info=True)
    assert clean(info), info
    inputs = batch(model)
    with torch.no_grad():
        expected = model(**torch_batch(inputs))
    got = ours(**inputs)
    assert got.logits.shape == tuple(expected.logits.shape)
    assert max_diff(got.logits, expected.logits) < ATOL
    assert abs(float(got.loss) - float(expected.loss)) < ATOL
    # explicit decoder inputs and masks, no labels: the same logits
    decoder_ids = model.prepare_decoder_input_ids_from_labels(torch.from_numpy(inputs["labels"])).numpy()
    plain = ours(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                 decoder_input_ids=decoder_ids, decoder_attention_mask=(decoder_ids != model.config.pad_token_id))
    assert plain.loss is None and max_diff(plain.logits, expected.logits) < ATOL


def test_the_original_workaround_runs_unchanged(tmp_path):
    """The issue's snippet: the original's documented route (save the parts apart, reload with *_from_pt,
    copy the config) and the direct one, then call and generate with a batch of TF tensors."""
    import tensorflow as tf

    from warmseq import EncoderDecoderModel, TFEncoderDecoderModel  # noqa: F811 - as the snippet imports it

    run_dir = tmp_path / "run"
    torch_pair("bert", "bert").save_pretrained(run_dir)
    direct = TFEncoderDecoderModel.from_pretrained(run_dir, from_pt=True)
    _model = EncoderDecoderModel.from_pretrained(run_dir)
    _model.encoder.save_pretrained(tmp_path / "encoder")
    _model.decoder.save_pretrained(tmp_path / "decoder")
    model = TFEncoderDecoderModel.from_encoder_decoder_pretrained(
        tmp_path / "encoder", tmp_path / "decoder", encoder_from_pt=True, decoder_from_pt=True)
    model.config = _model.config
    assert model.decoder.config is _model.config.decoder  # the parts follow the pair's config
    arrays = batch(_model)
    inputs = {key: tf.constant(value) for key, value in arrays.items()}
    out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], labels=inputs["labels"])
    with torch.no_grad():
        expected = _model(**torch_batch(arrays))
    assert max_diff(out.logits, expected.logits) < ATOL
    assert abs(float(out.loss) - float(expected.loss)) < ATOL
    assert max_diff(direct(**inputs).logits, expected.logits) < ATOL
    # max_new_tokens=64 would need 65 positions; these tiny models have 64
    ids = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], num_beams=4, max_new_tokens=20)
    reference = _model.generate(torch.from_numpy(arrays["input_ids"]),
                                attention_mask=torch.from_numpy(arrays["attention_mask"]), num_beams=4,
                                max_new_tokens=20)
    assert ids.numpy().tolist() == reference.tolist()


def test_encoder_outputs_and_get_encoder(tmp_path):
    model = torch_pair("bert", "gpt2")
    model.save_pretrained(tmp_path)
    ours = TFEncoderDecoderModel.from_pretrained(tmp_path)
    inputs = batch(model)
    states = ours.get_encoder()(inputs["input_ids"], attention_mask=inputs["attention_mask"])
    with torch.no_grad():
        expected = model.encoder(torch.from_numpy(inputs["input_ids"]), torch.from_numpy(inputs["attention_mask"]))
    assert max_diff(states.last_hidden_state, expected.last_hidden_state) < ATOL
    reused = ours(encoder_outputs=states, attention_mask=inputs["attention_mask"], labels=inputs["labels"])
    direct = ours(**inputs)
    assert max_diff(reused.logits, direct.logits) < 1e-6


def test_minilm_bert2bert_warm_start(minilm_dir):
    """The real checkpoint, warm-started from its PyTorch folder on both sides. The weights MiniLM lacks
    (cross-attention, the LM head's transform and bias) start random, so the PyTorch side's are copied over."""
    reference = EncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir)
    reference.config.decoder_start_token_id, reference.config.pad_token_id = 101, 0
    ours = TFEncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir)
    state = ours.torch_state()
    fresh = [(name, tensor) for name, tensor in reference.state_dict().items()
             if ".cross_attn" in name or "lm_head" in name]
    assert fresh
    for name, tensor in fresh:
        variable, transposed = state[name]
        variable.assign(tensor.numpy().T if transposed else tensor.numpy())
    ours.config = reference.config
    ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 102], [101, 2182, 2003, 102, 0, 0, 0]])
    mask = (ids != 0).long()
    labels = torch.tensor([[7592, 2088, 102, -100], [2182, 102, -100, -100]])
    with torch.no_grad():
        expected = reference(input_ids=ids, attention_mask=mask, labels=labels)
    got = ours(input_ids=ids.numpy(), attention_mask=mask.numpy(), labels=labels.numpy())
    counted = (labels != -100).numpy()
    assert max_diff(got.logits.numpy()[counted], expected.logits.numpy()[counted]) < ATOL
    assert abs(float(got.loss) - float(expected.loss)) < ATOL
