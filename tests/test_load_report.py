"""The load report a person reads: repeated layers folded into one line, and the copy of self-attention
into cross-attention said when it happens."""

from __future__ import annotations

import logging

import pytest

import warmseq
from warmseq.checkpoints.keymap import LoadReport, fold_layers


def test_layers_fold_into_one_line_in_order_of_first_appearance():
    keys = [f"bert.encoder.layer.{i}.crossattention.self.query.{p}" for i in range(6) for p in ("weight", "bias")]
    assert fold_layers([*keys, "cls.predictions.bias", "h.0.a", "h.2.a", "h.5.a", "h.1.b"]) == [
        "bert.encoder.layer.{0..5}.crossattention.self.query.weight",
        "bert.encoder.layer.{0..5}.crossattention.self.query.bias",
        "cls.predictions.bias", "h.{0,2,5}.a", "h.1.b",
    ]


def test_the_table_keeps_counts_and_folds_mismatches_too():
    report = LoadReport(missing_keys=[f"h.{i}.attn.c_attn.weight" for i in range(4)],
                        mismatched_keys=[(f"h.{i}.mlp.c_fc.weight", (8, 32), (8, 24)) for i in range(2)])
    lines = report.table("GPT2LMHeadModel", "ckpt").splitlines()
    assert lines == ["GPT2LMHeadModel loaded from ckpt:", "  newly initialised (not in the checkpoint): 4",
                     "    h.{0..3}.attn.c_attn.weight", "  shape mismatch (kept newly initialised): 2",
                     "    h.{0..1}.mlp.c_fc.weight: checkpoint [8, 32] vs model [8, 24]"]
    assert len(report.as_dict()["missing_keys"]) == 4  # the API keeps every key


def test_a_minilm_warm_start_says_what_is_new_at_a_glance(minilm_dir, caplog):
    with caplog.at_level(logging.INFO, logger="warmseq"):
        model = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir)
    text = "\n".join(r.getMessage() for r in caplog.records if "BertLMHeadModel loaded" in r.getMessage())
    assert "newly initialised (not in the checkpoint): 65" in text
    assert "    bert.encoder.layer.{0..5}.crossattention.self.query.weight" in text.splitlines()
    assert len(text.splitlines()) < 25  # 70 lines before folding
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="warmseq"):
        model.decoder.init_cross_attention_from_self()
    expected = "BertLMHeadModel: cross-attention of layers {0..5} starts as a copy of each layer's self-attention"
    assert expected in caplog.text
    layer = model.decoder.stack.layers[5]
    assert layer.cross_attn.out.weight.equal(layer.self_attn.out.weight)


def test_copying_needs_cross_attention():
    config = warmseq.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=37, is_decoder=True)
    with pytest.raises(ValueError, match="this block has no cross-attention"):
        warmseq.BertLMHeadModel(config).init_cross_attention_from_self()
