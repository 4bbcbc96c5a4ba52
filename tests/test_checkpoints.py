"""Checkpoint files both ways with the peer: single, sharded, .bin, separate parts, atomic saves."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
import transformers

import warmseq
from tests.conftest import padded_batch, padded_labels, tiny_bert_kwargs
from tests.parity.test_bert2bert import peer_pair


def same_logits(peer, ours) -> None:
    ids, mask = padded_batch(99)
    labels = padded_labels(99)
    with torch.no_grad():
        expected = peer(input_ids=ids, attention_mask=mask, labels=labels).logits
        got = ours(input_ids=ids, attention_mask=mask, labels=labels).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


@pytest.fixture()
def peer():
    return peer_pair(tiny_bert_kwargs(), tiny_bert_kwargs())


def test_warmseq_checkpoint_loads_in_peer_without_missing_keys(tmp_path, peer):
    peer.save_pretrained(tmp_path / "peer")
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "peer")
    ours.save_pretrained(tmp_path / "ours")
    back, info = transformers.EncoderDecoderModel.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    same_logits(back.eval(), ours)
    assert back.config.decoder_start_token_id == 1 and back.config.pad_token_id == 0


def test_random_init_saves_a_complete_checkpoint(tmp_path):
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs())
    )
    ours = warmseq.EncoderDecoderModel(config=config).eval()
    ours.save_pretrained(tmp_path)
    _, info = transformers.EncoderDecoderModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]


def test_sharded_checkpoints_both_ways(tmp_path, peer):
    peer.save_pretrained(tmp_path / "peer", max_shard_size="20KB")
    assert (tmp_path / "peer" / "model.safetensors.index.json").exists()
    ours, info = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    same_logits(peer, ours)
    ours.save_pretrained(tmp_path / "ours", max_shard_size="20KB")
    index = json.loads((tmp_path / "ours" / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    assert not (tmp_path / "ours" / "model.safetensors").exists()
    back, info = transformers.EncoderDecoderModel.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    same_logits(back.eval(), ours)
    # saving again unsharded removes the old shards and index
    ours.save_pretrained(tmp_path / "ours")
    assert sorted(p.name for p in (tmp_path / "ours").glob("model*")) == ["model.safetensors"]


def test_bin_checkpoint_loads(tmp_path, peer):
    peer.save_pretrained(tmp_path / "peer")
    state = {k: v.clone() for k, v in peer.state_dict().items()}
    folder = tmp_path / "bin"
    folder.mkdir()
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "config.json").write_text((tmp_path / "peer" / "config.json").read_text())
    ours, info = warmseq.EncoderDecoderModel.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    same_logits(peer, ours)


class Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('ran')",))


def test_bin_with_pickle_payload_is_refused_and_never_runs(tmp_path, monkeypatch, peer):
    monkeypatch.chdir(tmp_path)
    peer.save_pretrained(tmp_path / "evil")
    (tmp_path / "evil" / "model.safetensors").unlink()
    with open(tmp_path / "evil" / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"x": Payload()}, handle)
    with pytest.raises(ValueError, match=r"pytorch_model\.bin could not be loaded as plain tensors"):
        warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "evil")
    assert not (tmp_path / "PWNED").exists()


def test_separate_parts_saved_by_either_side_warm_start(tmp_path):
    kwargs = tiny_bert_kwargs()
    transformers.BertModel(transformers.BertConfig(**kwargs)).save_pretrained(tmp_path / "peer_enc")
    peer_decoder = transformers.BertLMHeadModel(transformers.BertConfig(**kwargs, is_decoder=True))
    peer_decoder.save_pretrained(tmp_path / "peer_dec")
    warmseq.BertModel(warmseq.BertConfig(**kwargs)).save_pretrained(tmp_path / "ours_enc")
    warmseq.BertLMHeadModel(warmseq.BertConfig(**kwargs, is_decoder=True)).save_pretrained(tmp_path / "ours_dec")
    cross = {f"bert.encoder.layer.{i}.crossattention.{part}" for i in range(2)
             for part in ("self.query.weight", "self.query.bias", "self.key.weight", "self.key.bias",
                          "self.value.weight", "self.value.bias", "output.dense.weight", "output.dense.bias",
                          "output.LayerNorm.weight", "output.LayerNorm.bias")}
    for side in ("peer", "ours"):
        model, info = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(
            tmp_path / f"{side}_enc", tmp_path / f"{side}_dec", output_loading_info=True
        )
        assert info["encoder"]["missing_keys"] == [] and info["encoder"]["unexpected_keys"] == []
        assert set(info["decoder"]["missing_keys"]) == cross
        assert info["decoder"]["unexpected_keys"] == []
        peer_model = transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(
            str(tmp_path / f"{side}_enc"), str(tmp_path / f"{side}_dec")
        )
        torch.testing.assert_close(model.encoder.stack.layers[0].ffn.up.weight,
                                   peer_model.encoder.encoder.layer[0].intermediate.dense.weight)


def test_parts_of_a_pair_save_separately(tmp_path, peer):
    peer.save_pretrained(tmp_path / "pair")
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "pair")
    ours.encoder.save_pretrained(tmp_path / "enc")
    ours.decoder.save_pretrained(tmp_path / "dec")
    _, info = transformers.BertModel.from_pretrained(tmp_path / "enc", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    _, info = transformers.BertLMHeadModel.from_pretrained(tmp_path / "dec", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    again = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(tmp_path / "enc", tmp_path / "dec")
    again.config.decoder_start_token_id, again.config.pad_token_id = 1, 0
    same_logits(peer, again)


def test_load_report_is_logged_as_a_table(tmp_path, caplog, minilm_dir):
    with caplog.at_level("WARNING", logger="warmseq"):
        warmseq.BertLMHeadModel.from_pretrained(minilm_dir, is_decoder=True, add_cross_attention=True)
    text = caplog.text
    assert "newly initialised (not in the checkpoint)" in text
    assert "bert.encoder.layer.{0..5}.crossattention.self.query.weight" in text  # layers folded
    assert "unused (in the checkpoint, not in the model)" in text and "bert.pooler.dense.weight" in text


def test_a_failed_save_leaves_the_previous_file(tmp_path):
    from warmseq.atomic import write_atomic

    target = tmp_path / "model.safetensors"
    target.write_bytes(b"previous")

    def crash_midway(temp):
        temp.write_bytes(b"half a fi")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, crash_midway)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
