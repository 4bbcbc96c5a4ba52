"""`Block.init_cross_attention_from_self`: cross-attention starts as a copy of the block's self-attention."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import warmseq
from tests.conftest import tiny_bert_kwargs
from tests.families.test_sharing import our_pair
from warmseq.configs.spec import TransformerSpec
from warmseq.modeling.block import Block


def test_cross_attention_becomes_the_self_attention():
    model = our_pair("bert", "bert").eval()  # no dropout
    block = model.decoder.stack.layers[0]
    assert not torch.equal(block.cross_attn.q.weight, block.self_attn.qkv.weight[: block.cross_attn.q.out_features])
    block.init_cross_attention_from_self()
    # over the same states and without the causal mask, both attentions now give the same output
    x = torch.randn(2, 5, block.self_attn.out.in_features)
    with torch.no_grad():
        own = block.self_attn(x, None, False)
        cross = block.cross_attn(x, block.cross_attn.project_memory(x), None)
    torch.testing.assert_close(cross, own, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(block.cross_attn_norm.weight, block.self_attn_norm.weight)
    assert block.cross_attn.q.weight.data_ptr() != block.self_attn.qkv.weight.data_ptr()  # copies, not ties


def test_blocks_without_a_matching_cross_attention_refuse():
    model = our_pair("bert", "bert")
    spec = model.decoder.spec
    with pytest.raises(ValueError, match="has no cross-attention"):
        Block(dataclasses.replace(spec, has_cross_attention=False)).init_cross_attention_from_self()


def test_encoder_width_does_not_matter_and_the_help_says_so(tmp_path):
    """48 -> 32: the pair projects the encoder states to the decoder's width, so the copy always fits."""
    from warmseq.cli.train import HELP
    from warmseq.training.config import TrainConfig
    from warmseq.training.model_loading import build_model

    assert "memory_size" not in {f.name for f in dataclasses.fields(TransformerSpec)}  # no dead width field
    assert "equal" not in HELP["cross_attention_init"] and "as wide as" not in HELP["cross_attention_init"]
    warmseq.BertModel(warmseq.BertConfig(**tiny_bert_kwargs(hidden_size=48))).save_pretrained(tmp_path / "enc")
    warmseq.BertLMHeadModel(warmseq.BertConfig(**tiny_bert_kwargs(is_decoder=True))).save_pretrained(tmp_path / "dec")
    config = TrainConfig(encoder=str(tmp_path / "enc"), decoder=str(tmp_path / "dec"), train="t", output_dir="o",
                         cross_attention_init="self")
    model = build_model(config, None).eval()
    model.config.decoder_start_token_id, model.config.pad_token_id = 1, 0
    assert model.enc_to_dec_proj.weight.shape == (32, 48)
    block = model.decoder.stack.layers[0]
    assert torch.equal(block.cross_attn.kv.weight, block.self_attn.qkv.weight[32:])
    ids = torch.randint(2, 99, (2, 7))
    with torch.no_grad():
        assert model(input_ids=ids, labels=ids).loss.isfinite()


def test_train_initialises_every_decoder_layer_by_default_and_random_on_request(minilm_dir, tmp_path):
    from warmseq.training.config import TrainConfig
    from warmseq.training.model_loading import build_model

    settings = dict(encoder=str(minilm_dir), decoder=str(minilm_dir), train=str(tmp_path / "train.jsonl"),
                    output_dir=str(tmp_path / "run"))
    model = build_model(TrainConfig(**settings), None)  # no flag: cross_attention_init="self"
    for block in model.decoder.stack.layers:
        width = block.self_attn.out.out_features
        assert torch.equal(block.cross_attn.kv.weight, block.self_attn.qkv.weight[width:])
        assert torch.equal(block.cross_attn.out.bias, block.self_attn.out.bias)
    random = build_model(TrainConfig(**settings, cross_attention_init="random"), None)
    for block in random.decoder.stack.layers:
        width = block.self_attn.out.out_features
        assert not torch.equal(block.cross_attn.kv.weight, block.self_attn.qkv.weight[width:])


def test_the_old_flag_name_still_means_self():
    import argparse

    from warmseq.cli.train import add_arguments
    from warmseq.training.config import TrainConfig

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    required = ["--encoder", "e", "--decoder", "d", "--train", "t", "--output-dir", "o"]
    assert parser.parse_args([*required, "--cross-attention-from-self"]).cross_attention_init == "self"
    assert parser.parse_args([*required, "--cross-attention-init", "random"]).cross_attention_init == "random"
    assert parser.parse_args(required).cross_attention_init == "self"
    saved = TrainConfig(encoder="e", decoder="d", train="t", output_dir="o").to_json_dict()
    del saved["cross_attention_init"]
    assert TrainConfig.from_json_dict({**saved, "cross_attention_from_self": False}).cross_attention_init == "random"


def test_training_copies_where_the_memory_fits_and_keeps_pretrained_cross_attention():
    from tests.families.peer_families import FAMILIES
    from warmseq.training.model_loading import init_cross_attention_from_self

    def copied(model) -> list[bool]:
        return [torch.equal(block.cross_attn.out.weight, block.self_attn.out.weight)
                for block in model.decoder.stack.layers]

    kept = our_pair("bert", "bert")
    assert init_cross_attention_from_self(kept, decoder_missing=[]) == 0  # the decoder checkpoint had every weight
    assert not any(copied(kept))
    same = our_pair("bert", "bert")
    assert init_cross_attention_from_self(same, decoder_missing=["some.crossattention.key"]) == len(copied(same))
    assert copied(same) and all(copied(same))
    bert = FAMILIES["bert"]
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**bert.kwargs(hidden_size=48, num_attention_heads=6)), warmseq.BertConfig(**bert.kwargs()),
        decoder_start_token_id=0, pad_token_id=0)
    projected = warmseq.EncoderDecoderModel(config)
    assert projected.enc_to_dec_proj is not None  # the memory reaches cross-attention at the decoder's width
    assert init_cross_attention_from_self(projected, None) == len(copied(projected)) and all(copied(projected))
