"""Checkpoint folders both ways: Flax saves -> warmseq's PyTorch class and transformers load; transformers
saves -> Flax loads; sharded files; weights that do not fit the config."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.families.pairs import copy_encoder_into_decoder
from tests.flax.pairs import PAIRS, FlaxEncoderDecoderModel, both, padded_batch, source_vocab, torch_pair
from warmseq.modeling.encoder_decoder import EncoderDecoderModel

transformers = pytest.importorskip("transformers")


def assert_clean(info: dict) -> None:
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        assert not info[kind], f"{kind}: {sorted(info[kind])}"


def torch_logits(model, ids: np.ndarray, mask: np.ndarray, start: int) -> np.ndarray:
    targets = torch.full((ids.shape[0], 4), start, dtype=torch.long)
    with torch.no_grad():
        return model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask),
                     decoder_input_ids=targets).logits.numpy()


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_flax_saves_what_pytorch_loads(tmp_path, name):
    model, flax_model = both(name, tmp_path / "torch")
    flax_model.save_pretrained(tmp_path / "flax")
    back, info = EncoderDecoderModel.from_pretrained(tmp_path / "flax", output_loading_info=True)
    assert_clean(info)
    assert back.num_parameters() == model.num_parameters() == flax_model.num_parameters()
    ids, mask = padded_batch(source_vocab(model), PAIRS[name].pad)
    expected = torch_logits(model, ids, mask, PAIRS[name].start)
    assert np.abs(torch_logits(back, ids, mask, PAIRS[name].start) - expected).max() <= 1e-5
    assert json.loads((tmp_path / "flax" / "config.json").read_text())["architectures"] == ["EncoderDecoderModel"]
    assert (tmp_path / "flax" / "generation_config.json").is_file()


def test_sharded_save_loads_both_ways(tmp_path):
    model, flax_model = both("bert2gpt2", tmp_path / "torch")
    flax_model.save_pretrained(tmp_path / "flax", max_shard_size="20KB")
    assert (tmp_path / "flax" / "model.safetensors.index.json").is_file()
    assert not (tmp_path / "flax" / "model.safetensors").exists()
    back, info = EncoderDecoderModel.from_pretrained(tmp_path / "flax", output_loading_info=True)
    assert_clean(info)
    again = FlaxEncoderDecoderModel.from_pretrained(tmp_path / "flax")
    ours, theirs = flax_model.checkpoint_state(), again.checkpoint_state()
    assert ours.keys() == theirs.keys() and all(np.array_equal(ours[k], theirs[k]) for k in ours)
    model.save_pretrained(tmp_path / "torch-sharded", max_shard_size="20KB")
    from_torch = FlaxEncoderDecoderModel.from_pretrained(tmp_path / "torch-sharded").checkpoint_state()
    assert all(np.array_equal(ours[k], from_torch[k]) for k in ours)


def transformers_pairs() -> dict:
    from tests.families.pairs import peer_pair
    from tests.parity.test_gpt2_bart_pairs import peer_pair as gpt2_pair
    from tests.parity.tiny_gpt2_bart import GPT2_END, bert_config, gpt2_config

    return {
        "bert2bert": lambda: (peer_pair("bert", "bert"), 0),
        "roberta2roberta-shared": lambda: (peer_pair("roberta", "roberta", tie_encoder_decoder=True), 1),
        "bert2gpt2": lambda: (gpt2_pair(bert_config(), gpt2_config(), GPT2_END, 0), 0),
    }


@pytest.mark.parametrize("name", ["bert2bert", "roberta2roberta-shared", "bert2gpt2"])
def test_transformers_folder_loads_in_flax(tmp_path, name):
    torch.manual_seed(0)
    peer, pad = transformers_pairs()[name]()
    with torch.no_grad():
        for parameter in peer.parameters():
            parameter.add_(torch.randn_like(parameter), alpha=0.05)
    if name.endswith("shared"):  # a shared pair's file holds equal copies in the encoder and the decoder
        copy_encoder_into_decoder(peer)
    peer.save_pretrained(tmp_path / "peer")
    flax_model, info = FlaxEncoderDecoderModel.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert_clean(info)
    ids, mask = padded_batch(peer.config.encoder.vocab_size, pad)
    start = peer.config.decoder_start_token_id
    expected = torch_logits(peer, ids, mask, start)
    got = flax_model(input_ids=ids, attention_mask=mask, decoder_input_ids=np.full((3, 4), start)).logits
    assert np.abs(np.asarray(got) - expected).max() <= 1e-5
    flax_model.save_pretrained(tmp_path / "flax")
    back, info = transformers.EncoderDecoderModel.from_pretrained(tmp_path / "flax", output_loading_info=True)
    assert_clean(info)
    assert np.abs(torch_logits(back.eval(), ids, mask, start) - expected).max() <= 1e-5


def test_weights_that_do_not_fit_the_config_name_key_and_shapes(tmp_path):
    torch_pair("bert2bert").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["decoder"]["intermediate_size"] = 41
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"decoder\.bert\.encoder\.layer\.\{0\.\.1\}\.intermediate\.dense\.weight: "
                                         r"checkpoint \[37, 32\] vs model \[41, 32\]"):
        FlaxEncoderDecoderModel.from_pretrained(tmp_path)


def test_pickle_only_folder_says_how_to_convert(tmp_path):
    torch_pair("bert2bert").save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").rename(tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match="pytorch_model.bin .*convert it once"):
        FlaxEncoderDecoderModel.from_pretrained(tmp_path)
    (tmp_path / "pytorch_model.bin").unlink()
    with pytest.raises(FileNotFoundError, match="has no weights"):
        FlaxEncoderDecoderModel.from_pretrained(tmp_path)
