"""tie_encoder_decoder=True: encoder and decoder hold one set of parameters, in memory and through checkpoints."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from safetensors.torch import load_file, save_file

import warmseq
from tests.conftest import padded_batch, padded_labels
from tests.families.pairs import peer_pair
from tests.families.peer_families import FAMILIES, OUR_CONFIGS, clean


def our_pair(encoder: str, decoder: str, **fields) -> warmseq.EncoderDecoderModel:
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        OUR_CONFIGS[encoder](**FAMILIES[encoder].kwargs()), OUR_CONFIGS[decoder](**FAMILIES[decoder].kwargs()),
        decoder_start_token_id=0, pad_token_id=FAMILIES[decoder].pad, **fields,
    )
    return warmseq.EncoderDecoderModel(config)


def test_shared_parameters_are_one_tensor_and_train_together():
    model = our_pair("roberta", "roberta", tie_encoder_decoder=True)
    apart = our_pair("roberta", "roberta")
    encoder, decoder = dict(model.encoder.stack.named_parameters()), dict(model.decoder.stack.named_parameters())
    for name, param in decoder.items():
        assert (param is encoder.get(name)) == ("cross_attn" not in name), name
    assert model.decoder.output_weight() is model.encoder.stack.embeddings.tokens.weight
    assert model.num_parameters() < apart.num_parameters()
    model.train()
    ids, mask = padded_batch(99, pad=1)
    model(input_ids=ids, attention_mask=mask, labels=padded_labels(99)).loss.backward()
    ffn = model.encoder.stack.layers[0].ffn.up.weight
    assert ffn.grad is not None and ffn is model.decoder.stack.layers[0].ffn.up.weight


def test_warm_start_with_sharing(tmp_path):
    FAMILIES["roberta"].peer_encoder(FAMILIES["roberta"].peer_config(**FAMILIES["roberta"].kwargs())).save_pretrained(
        tmp_path / "roberta")
    shared = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(
        tmp_path / "roberta", tmp_path / "roberta", tie_encoder_decoder=True)
    apart = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(tmp_path / "roberta", tmp_path / "roberta")
    assert shared.config.tie_encoder_decoder is True
    assert shared.decoder.stack.layers[1].self_attn.qkv.weight is shared.encoder.stack.layers[1].self_attn.qkv.weight
    assert shared.num_parameters() < apart.num_parameters()
    shared.save_pretrained(tmp_path / "pair")
    again, info = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "pair", output_loading_info=True)
    assert clean(info), info
    assert again.num_parameters() == shared.num_parameters()


def test_checkpoint_with_one_copy_of_shared_weights_loads_clean(tmp_path):
    # older writers dropped one name of each shared tensor from safetensors files
    peer = peer_pair("roberta", "roberta", tie_encoder_decoder=True)
    peer.save_pretrained(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    dropped = [k for k in tensors if k.startswith("encoder.encoder.layer.0.attention")]
    save_file({k: v for k, v in tensors.items() if k not in dropped}, tmp_path / "model.safetensors")
    ours, info = warmseq.EncoderDecoderModel.from_pretrained(tmp_path, output_loading_info=True)
    assert clean(info), info
    ids, mask = padded_batch(99, pad=1)
    labels = padded_labels(99)
    with torch.no_grad():
        expected = peer(input_ids=ids, attention_mask=mask, labels=labels).logits
        got = ours(input_ids=ids, attention_mask=mask, labels=labels).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_differing_copies_warn_and_the_encoder_wins(tmp_path, caplog):
    peer = peer_pair("roberta", "roberta", tie_encoder_decoder=True)
    with torch.no_grad():
        peer.decoder.roberta.embeddings.word_embeddings.weight.add_(1.0)
    peer.save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    assert "differ between the checkpoint's encoder and decoder copies" in caplog.text
    assert "tie_encoder_decoder=False" in caplog.text
    torch.testing.assert_close(ours.decoder.stack.embeddings.tokens.weight,
                               peer.encoder.embeddings.word_embeddings.weight)


def test_sharing_needs_equal_sizes():
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        OUR_CONFIGS["roberta"](**FAMILIES["roberta"].kwargs()),
        OUR_CONFIGS["roberta"](**FAMILIES["roberta"].kwargs(intermediate_size=40)),
        tie_encoder_decoder=True,
    )
    with pytest.raises(ValueError, match=r"tie_encoder_decoder=True, but layers\.0\.ffn\.up\.weight has shape"):
        warmseq.EncoderDecoderModel(config)


@pytest.mark.parametrize("family", ["bert", "roberta", "bert-generation"])
def test_a_pair_of_two_different_modules_keeps_the_decoders_weights(tmp_path, family):
    """The original's (v4) direction: the encoder takes the decoder's parameters. The reference is the same
    pair untied, its encoder loaded with the decoder's base model (as the original's test builds it)."""
    encoder = FAMILIES[family].encoder(OUR_CONFIGS[family](**FAMILIES[family].kwargs()))
    decoder = FAMILIES[family].decoder(OUR_CONFIGS[family](**FAMILIES[family].kwargs(), is_decoder=True,
                                                           add_cross_attention=True))
    reference = warmseq.EncoderDecoderModel(encoder=copy.deepcopy(encoder), decoder=copy.deepcopy(decoder)).eval()
    reference.encoder.load_state_dict(
        reference.decoder._modules[reference.decoder.base_model_prefix].state_dict(), strict=False)
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config,
                                                                       tie_encoder_decoder=True)
    tied = warmseq.EncoderDecoderModel(config, encoder=encoder, decoder=decoder).eval()
    ids, mask = padded_batch(99, pad=FAMILIES[family].pad)
    inputs = dict(input_ids=ids, attention_mask=mask, decoder_input_ids=ids[:, :6],
                  decoder_attention_mask=mask[:, :6])
    with torch.no_grad():
        expected = reference(**inputs).logits
        torch.testing.assert_close(tied(**inputs).logits, expected, atol=1e-6, rtol=0)
    assert sum(p.numel() for p in tied.parameters()) < sum(p.numel() for p in reference.parameters())
    tied.save_pretrained(tmp_path)
    again = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    assert again.encoder.stack.layers[0].ffn.up.weight is again.decoder.stack.layers[0].ffn.up.weight
    with torch.no_grad():
        torch.testing.assert_close(again(**inputs).logits, expected, atol=1e-6, rtol=0)
