"""BART in warmseq: config roles, cached decoding, labels, checkpoint round trip."""

from __future__ import annotations

import logging
import math

import torch

from warmseq.configs import AutoConfig, BartConfig
from warmseq.modeling.bart import BartEncoder, BartForCausalLM


def tiny_config(**fields) -> BartConfig:
    return BartConfig(vocab_size=77, d_model=16, encoder_layers=2, decoder_layers=3, encoder_attention_heads=4,
                      decoder_attention_heads=2, encoder_ffn_dim=29, decoder_ffn_dim=31,
                      max_position_embeddings=64, init_std=0.1, scale_embedding=True, **fields)


def test_config_gives_the_encoder_or_the_decoder_stack(tmp_path):
    config = tiny_config()
    encoder, decoder = config.encoder_spec(), config.decoder_spec()
    assert (encoder.num_layers, encoder.num_heads, encoder.intermediate_size) == (2, 4, 29)
    assert (decoder.num_layers, decoder.num_heads, decoder.intermediate_size) == (3, 2, 31)
    assert decoder.has_cross_attention and decoder.is_causal and not encoder.is_causal
    assert encoder.max_positions == 66 and encoder.position_offset == 2 and encoder.usable_positions == 64
    assert encoder.embedding_scale == math.sqrt(16) and not encoder.norm_first and encoder.embedding_norm
    assert config.hidden_size == 16 and config.initializer_range == 0.1
    config.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path) == config


@torch.no_grad()
def test_cached_decoding_equals_the_full_forward():
    model = BartForCausalLM(tiny_config()).eval()
    tokens = torch.randint(3, 77, (2, 7))
    memory = torch.randn(2, 5, 16)
    memory_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])
    full = model.stack(tokens, None, None, memory, memory_mask)
    cache = model.stack.new_cache(2, 7, memory, memory_mask)
    steps = [model.stack.decode(tokens[:, i : i + 1], cache) for i in range(7)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)


@torch.no_grad()
def test_causal_lm_labels_are_not_shifted_inside():
    model = BartForCausalLM(tiny_config()).eval()
    tokens = torch.randint(3, 77, (1, 5))
    out = model(input_ids=tokens, labels=tokens)
    expected = torch.nn.functional.cross_entropy(out.logits[0], tokens[0])
    torch.testing.assert_close(out.loss, expected)


@torch.no_grad()
def test_encoder_round_trip_and_non_zero_final_logits_bias_warning(tmp_path, caplog):
    encoder = BartEncoder(tiny_config()).eval()
    encoder.save_pretrained(tmp_path / "encoder")
    loaded, info = BartEncoder.from_pretrained(tmp_path / "encoder", output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    ids = torch.randint(3, 77, (2, 6))
    torch.testing.assert_close(loaded(input_ids=ids).last_hidden_state, encoder(input_ids=ids).last_hidden_state)

    decoder = BartForCausalLM(tiny_config())
    state = decoder.checkpoint_state()
    state["final_logits_bias"] = torch.ones(1, 77)
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        report = BartForCausalLM(tiny_config()).load_checkpoint_state(state, "ckpt")
    assert report.is_clean()
    assert "final_logits_bias is non-zero" in caplog.text
