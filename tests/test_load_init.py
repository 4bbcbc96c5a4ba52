"""from_pretrained draws random initial values only for what the checkpoint lacks."""

from __future__ import annotations

import torch
from safetensors.torch import load_file, save_file

import warmseq
from tests.conftest import tiny_bert_kwargs
from warmseq.modeling.pretrained import PreTrainedModel


def tiny_pair() -> warmseq.EncoderDecoderModel:
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs(initializer_range=0.05)),
        warmseq.BertConfig(**tiny_bert_kwargs(initializer_range=0.3), is_decoder=True, add_cross_attention=True))
    return warmseq.EncoderDecoderModel(config=config)


def test_a_complete_checkpoint_draws_no_initial_values(tmp_path, monkeypatch):
    tiny_pair().save_pretrained(tmp_path)
    drawn = []
    real = PreTrainedModel.init_modules
    monkeypatch.setattr(PreTrainedModel, "init_modules",
                        lambda self, modules: drawn.extend(modules := list(modules)) or real(self, modules))
    model = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    assert drawn == []  # every weight came from the file
    state = load_file(tmp_path / "model.safetensors")
    query = state["decoder.bert.encoder.layer.1.crossattention.self.query.weight"]
    assert torch.equal(model.decoder.stack.layers[1].cross_attn.q.weight, query)


def test_what_the_checkpoint_lacks_is_drawn_with_its_own_model_s_range(tmp_path):
    tiny_pair().save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    dropped = [key for key in state
               if "crossattention.self.query" in key or key.startswith("encoder.encoder.layer.0.intermediate")
               or key == "decoder.bert.encoder.layer.1.output.dense.bias"]
    # two decoder layers' query weight and bias, the encoder's first feed-forward, one bias without its weight
    assert len(dropped) == 7
    save_file({k: v for k, v in state.items() if k not in dropped}, tmp_path / "model.safetensors",
              metadata={"format": "pt"})
    model, info = warmseq.EncoderDecoderModel.from_pretrained(tmp_path, output_loading_info=True)
    assert sorted(info["missing_keys"]) == sorted(dropped)
    query = model.decoder.stack.layers[0].cross_attn.q
    up = model.encoder.stack.layers[0].ffn.up
    assert 0.2 < float(query.weight.std()) < 0.4 and not query.bias.any()  # the decoder's 0.3
    assert 0.03 < float(up.weight.std()) < 0.07 and not up.bias.any()  # the encoder's 0.05
    down = model.decoder.stack.layers[1].ffn.down  # its weight loaded, its bias not: only the bias is drawn
    assert torch.equal(down.weight, state["decoder.bert.encoder.layer.1.output.dense.weight"]) and not down.bias.any()
    kept = model.decoder.stack.layers[0].self_attn.qkv.weight
    loaded = state["decoder.bert.encoder.layer.0.attention.self.query.weight"]
    assert torch.equal(kept[: loaded.shape[0]], loaded)  # what the file holds is what it holds
