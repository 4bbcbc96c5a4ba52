"""What the TF model saves, warmseq's PyTorch class and transformers load (and the reverse): same files,
PyTorch layout and names, no missing or unexpected keys, same logits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import transformers

from tests.tf.conftest import batch, max_diff, torch_batch, torch_pair
from warmseq import EncoderDecoderModel
from warmseq.tf import TFEncoderDecoderModel

ATOL = 1e-5


def assert_clean(info: dict) -> None:
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        assert not info[kind], f"{kind}: {sorted(info[kind])}"


def tf_model_from(model: EncoderDecoderModel, folder) -> TFEncoderDecoderModel:
    model.save_pretrained(folder)
    return TFEncoderDecoderModel.from_pretrained(folder)


@pytest.mark.parametrize("pair", [("bert", "bert"), ("bert", "gpt2")], ids=["bert2bert", "bert2gpt2_projection"])
def test_tf_saves_pytorch_and_transformers_load(tmp_path, pair):
    ours = tf_model_from(torch_pair(*pair), tmp_path / "start")
    # train-like change on the TF side only, so that the saved file is the TF model's own
    for variable in ours.trainable_weights:
        variable.assign(variable + np.random.default_rng(0).normal(0, 0.01, variable.shape).astype(np.float32))
    ours.save_pretrained(tmp_path / "tf")
    files = sorted(p.name for p in (tmp_path / "tf").iterdir())
    assert files == ["config.json", "generation_config.json", "model.safetensors"]
    assert json.loads((tmp_path / "tf" / "config.json").read_text())["architectures"] == ["EncoderDecoderModel"]
    inputs = batch(ours)
    expected = ours(**inputs)
    back, info = EncoderDecoderModel.from_pretrained(tmp_path / "tf", output_loading_info=True)
    assert_clean(info)
    peer, info = transformers.EncoderDecoderModel.from_pretrained(tmp_path / "tf", output_loading_info=True)
    assert_clean(info)
    with torch.no_grad():
        for model in (back, peer.eval()):
            got = model(**torch_batch(inputs))
            assert max_diff(got.logits, expected.logits) < ATOL
            assert abs(float(got.loss) - float(expected.loss)) < ATOL
    if pair[1] == "gpt2":
        assert ours.enc_to_dec_proj is not None


def test_transformers_saves_tf_loads(tmp_path):
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
        transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=37, max_position_embeddings=64),
        transformers.GPT2Config(vocab_size=87, n_embd=24, n_layer=2, n_head=4, n_positions=64))
    torch.manual_seed(0)
    peer = transformers.EncoderDecoderModel(config=config).eval()
    with torch.no_grad():
        for param in peer.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    peer.config.decoder_start_token_id, peer.config.pad_token_id = 86, 0
    peer.save_pretrained(tmp_path)
    ours, info = TFEncoderDecoderModel.from_pretrained(tmp_path, output_loading_info=True)
    assert_clean(info)
    inputs = batch(ours)
    with torch.no_grad():
        expected = peer(**torch_batch(inputs))
    got = ours(**inputs)
    assert max_diff(got.logits, expected.logits) < ATOL
    assert abs(float(got.loss) - float(expected.loss)) < ATOL


def test_sharded_save_round_trip(tmp_path):
    ours = tf_model_from(torch_pair("roberta", "roberta"), tmp_path / "start")
    ours.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    index = json.loads((tmp_path / "sharded" / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    assert not (tmp_path / "sharded" / "model.safetensors").exists()
    back, info = EncoderDecoderModel.from_pretrained(tmp_path / "sharded", output_loading_info=True)
    assert_clean(info)
    again = TFEncoderDecoderModel.from_pretrained(tmp_path / "sharded")
    inputs = batch(ours)
    with torch.no_grad():
        assert max_diff(back(**torch_batch(inputs)).logits, ours(**inputs).logits) < ATOL
    assert max_diff(again(**inputs).logits, ours(**inputs).logits) == 0.0


def test_tie_encoder_decoder_shares_and_round_trips(tmp_path):
    reference = torch_pair("roberta", "roberta", tie_encoder_decoder=True)
    ours = tf_model_from(reference, tmp_path / "start")
    encoder_qkv = ours.encoder.stack.layers[0].self_attn.qkv.kernel
    assert ours.decoder.stack.layers[0].self_attn.qkv.kernel is encoder_qkv
    assert ours.decoder.stack.layers[0].cross_attn is not None
    assert ours.num_parameters() == reference.num_parameters()
    inputs = batch(reference)
    with torch.no_grad():
        assert max_diff(ours(**inputs).logits, reference(**torch_batch(inputs)).logits) < ATOL
    encoder_qkv.assign(encoder_qkv + 0.01)  # one change reaches both halves, and survives saving
    ours.save_pretrained(tmp_path / "tf")
    back, info = EncoderDecoderModel.from_pretrained(tmp_path / "tf", output_loading_info=True)
    assert_clean(info)
    with torch.no_grad():
        assert max_diff(back(**torch_batch(inputs)).logits, ours(**inputs).logits) < ATOL
    qkv = back.decoder.stack.layers[0].self_attn.qkv.weight
    assert qkv is back.encoder.stack.layers[0].self_attn.qkv.weight


def test_sharing_refuses_different_sizes():
    from tests.tf.conftest import TINY
    from warmseq.configs import EncoderDecoderConfig

    config = EncoderDecoderConfig.from_encoder_decoder_configs(TINY["bert"](), TINY["electra"](),
                                                               tie_encoder_decoder=True)
    with pytest.raises(ValueError, match="tie_encoder_decoder=True, but .* has shape"):
        TFEncoderDecoderModel(config)
