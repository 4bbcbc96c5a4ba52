"""Length caps come from the spec's usable positions, not from raw config fields (RoBERTa holds
max_position_embeddings - 2 tokens): training, `warmseq generate` and `evaluate` cap alike."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tests.conftest import tiny_bert_kwargs

import warmseq
from warmseq.cli.generate import source_limit
from warmseq.training.config import TrainConfig
from warmseq.training.evaluate import saved_source_length
from warmseq.training.model_loading import capped_lengths

ROWS = 66  # RoBERTa (pad 1) keeps rows 0 and 1 before position 0: 64 tokens fit


def roberta_pair() -> warmseq.EncoderDecoderModel:
    sizes = tiny_bert_kwargs(max_position_embeddings=ROWS)
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.RobertaConfig(**sizes), warmseq.RobertaConfig(**sizes), decoder_start_token_id=0, pad_token_id=1)
    return warmseq.EncoderDecoderModel(config=config).eval()


def test_training_caps_at_what_the_position_tables_hold():
    model = roberta_pair()
    config = TrainConfig(encoder="e", decoder="d", train="t", output_dir="o", max_source_length=100,
                         max_target_length=100)
    source_length, target_length = capped_lengths(config, model)
    assert (source_length, target_length) == (ROWS - 2, ROWS - 2)
    ids = torch.randint(3, 99, (2, source_length))
    with torch.no_grad():  # the capped lengths run; one token more would not
        assert model(input_ids=ids, labels=ids[:, :target_length]).loss.isfinite()


def test_generate_and_evaluate_cap_sources_alike(tmp_path: Path):
    model = roberta_pair()
    args = argparse.Namespace(max_source_length=None)
    tokenizer = argparse.Namespace(model_max_length=10**30)  # "no limit", as tokenizers without one say
    assert source_limit(args, model, tokenizer) == ROWS - 2
    assert saved_source_length(tmp_path, model) == ROWS - 2
