"""GPT-2 in warmseq: config fields, cached decoding, checkpoint round trip, errors."""

from __future__ import annotations

import pytest
import torch

from warmseq.configs import AutoConfig, GPT2Config
from warmseq.modeling.gpt2 import GPT2LMHeadModel, GPT2Model


def tiny_config(**fields) -> GPT2Config:
    shape = dict(vocab_size=87, n_embd=24, n_layer=2, n_head=4, n_positions=64, initializer_range=0.1)
    return GPT2Config(**{**shape, **fields})


def test_config_reads_generic_names_as_gpt2_fields_and_writes_gpt2_fields(tmp_path):
    config = GPT2Config(hidden_size=48, num_hidden_layers=3)
    assert (config.n_embd, config.n_layer, config.hidden_size, config.num_attention_heads) == (48, 3, 48, 12)
    assert config.bos_token_id == config.eos_token_id == 50256 and config.activation_function == "gelu_new"
    config.save_pretrained(tmp_path)
    saved = (tmp_path / "config.json").read_text()
    assert '"n_embd": 48' in saved and "hidden_size" not in saved
    assert AutoConfig.from_pretrained(tmp_path) == config


def test_spec_is_pre_norm_with_final_norm_and_no_padding_row():
    spec = tiny_config(add_cross_attention=True, pad_token_id=86).to_spec()
    assert spec.norm_first and spec.final_norm and not spec.embedding_norm
    assert spec.is_causal and spec.has_cross_attention and not spec.lm_head_bias
    assert spec.pad_token_id is None  # pad is usually eos: its embedding must keep learning
    assert spec.intermediate_size == 4 * 24


def test_unsupported_attention_scaling_is_named():
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        tiny_config(scale_attn_by_inverse_layer_idx=True).to_spec()


@torch.no_grad()
def test_cached_decoding_equals_the_full_forward():
    model = GPT2LMHeadModel(tiny_config(add_cross_attention=True, is_decoder=True)).eval()
    tokens = torch.randint(0, 87, (2, 7))
    memory = torch.randn(2, 5, 24)
    memory_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    full = model.stack(tokens, None, None, memory, memory_mask)
    cache = model.stack.new_cache(2, 8, memory, memory_mask)
    steps = [model.stack.decode(tokens[:, :3], cache)]  # a prompt chunk, then one token at a time
    steps += [model.stack.decode(tokens[:, i : i + 1], cache) for i in range(3, 7)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)


@torch.no_grad()
def test_save_and_load_round_trip_keeps_the_weights(tmp_path):
    model = GPT2LMHeadModel(tiny_config(add_cross_attention=True, is_decoder=True)).eval()
    model.save_pretrained(tmp_path)
    loaded, info = GPT2LMHeadModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_residual_projections_start_smaller():
    model = GPT2LMHeadModel(tiny_config(n_layer=8))
    std = model.stack.layers[0].ffn.down.weight.std().item()
    assert std < 0.1 / 3  # 0.1 / sqrt(2 * 8) = 0.025


def test_gpt2_encoder_rejects_token_type_ids():
    model = GPT2Model(tiny_config())
    ids = torch.randint(0, 87, (1, 4))
    with pytest.raises(ValueError, match="token_type_ids"):
        model(input_ids=ids, token_type_ids=torch.zeros_like(ids))
