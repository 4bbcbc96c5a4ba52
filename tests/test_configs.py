"""config.json in and out: diff-saved and legacy full-dump files, pairs, the peer reading ours."""

from __future__ import annotations

import json

import transformers

import warmseq
from tests.conftest import tiny_bert_kwargs

LEGACY_PAIR = {
    "architectures": ["EncoderDecoderModel"],
    "decoder": {
        "_name_or_path": "bert-base-uncased", "add_cross_attention": True, "architectures": ["BertForMaskedLM"],
        "attention_probs_dropout_prob": 0.1, "bad_words_ids": None, "bos_token_id": None,
        "chunk_size_feed_forward": 0, "decoder_start_token_id": None, "diversity_penalty": 0.0,
        "do_sample": False, "early_stopping": False, "eos_token_id": None, "gradient_checkpointing": False,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 32, "id2label": {"0": "LABEL_0"},
        "initializer_range": 0.02, "intermediate_size": 37, "is_decoder": True, "is_encoder_decoder": False,
        "label2id": {"LABEL_0": 0}, "layer_norm_eps": 1e-12, "length_penalty": 1.0, "max_length": 20,
        "max_position_embeddings": 64, "min_length": 0, "model_type": "bert", "no_repeat_ngram_size": 0,
        "num_attention_heads": 4, "num_beam_groups": 1, "num_beams": 1, "num_hidden_layers": 2,
        "output_attentions": False, "output_hidden_states": False, "pad_token_id": 0,
        "position_embedding_type": "absolute", "pruned_heads": {}, "return_dict": True, "torchscript": False,
        "transformers_version": "4.2.0.dev0", "type_vocab_size": 2, "use_bfloat16": False, "use_cache": True,
        "vocab_size": 99,
    },
    "decoder_start_token_id": 101, "early_stopping": True, "eos_token_id": 102, "length_penalty": 2.0,
    "max_length": 142, "min_length": 56, "no_repeat_ngram_size": 3, "num_beams": 4, "pad_token_id": 0,
    "encoder": {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                "intermediate_size": 37, "vocab_size": 99, "max_position_embeddings": 64,
                "architectures": ["BertForMaskedLM"]},
    "is_encoder_decoder": True, "model_type": "encoder-decoder", "tie_encoder_decoder": False,
    "transformers_version": None,
}


def test_legacy_full_dump_loads_by_model_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LEGACY_PAIR))
    config = warmseq.AutoConfig.from_pretrained(tmp_path)
    assert isinstance(config, warmseq.EncoderDecoderConfig)
    assert isinstance(config.decoder, warmseq.BertConfig) and config.decoder.is_decoder
    assert config.decoder_start_token_id == 101 and config.eos_token_id == 102
    assert config.generation_fields == {"early_stopping": True, "length_penalty": 2.0, "max_length": 142,
                                        "min_length": 56, "no_repeat_ngram_size": 3, "num_beams": 4}
    model = warmseq.EncoderDecoderModel(config=config)
    assert type(model.decoder).__name__ == "BertLMHeadModel"  # not the stale BertForMaskedLM


def test_diff_saved_config_gets_defaults(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 64}))
    config = warmseq.BertConfig.from_pretrained(tmp_path)
    assert config.hidden_size == 64 and config.num_hidden_layers == 12 and config.layer_norm_eps == 1e-12


def test_peer_reads_our_config(tmp_path):
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()), warmseq.BertConfig(**tiny_bert_kwargs()),
        decoder_start_token_id=101, pad_token_id=0,
    )
    config.save_pretrained(tmp_path)
    peer = transformers.EncoderDecoderConfig.from_pretrained(tmp_path)
    assert peer.decoder.add_cross_attention and peer.decoder.is_decoder and not peer.encoder.is_decoder
    assert peer.decoder_start_token_id == 101 and peer.decoder.hidden_size == 32
    assert warmseq.AutoConfig.from_pretrained(tmp_path) == config


def test_pairing_configs_leaves_the_callers_objects_alone():
    encoder, decoder = warmseq.BertConfig(), warmseq.BertConfig()
    pair = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    assert pair.decoder.is_decoder and pair.decoder.add_cross_attention
    assert not decoder.is_decoder and not decoder.add_cross_attention
    assert warmseq.BertConfig().vocab_size == 30522 and warmseq.BertConfig().hidden_act == "gelu"
