"""The family classes on their own: a PyTorch-saved encoder or causal LM loads into its Flax twin, with the same
outputs, and a causal LM's loss shifts labels as its PyTorch class does (BART's come pre-shifted)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.flax.pairs import bart, bert_layout, gpt2, padded_batch
from warmseq import configs
from warmseq.modeling.auto import decoder_class_for, encoder_class_for

flax_port = pytest.importorskip("warmseq.flax")
from warmseq.flax.families import decoder_class_for as flax_decoder_class  # noqa: E402
from warmseq.flax.families import encoder_class_for as flax_encoder_class  # noqa: E402


def nudged(model):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter), alpha=0.05)
    return model.eval()


@pytest.mark.parametrize("make_config", [bart, lambda: bert_layout(configs.BertConfig)], ids=["bart", "bert"])
def test_causal_lm_logits_and_loss_equal_pytorch(tmp_path, make_config):
    config = make_config()
    config.is_decoder = True
    torch.manual_seed(0)
    model = nudged(decoder_class_for(config)(config))
    model.save_pretrained(tmp_path)
    flax_model, info = flax_decoder_class(config).from_pretrained(tmp_path, output_loading_info=True)
    assert not (info["missing_keys"] or info["unexpected_keys"])
    ids, mask = padded_batch(config.vocab_size, config.pad_token_id)
    labels = np.where(mask == 1, ids, -100)
    with torch.no_grad():
        expected = model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask),
                         labels=torch.as_tensor(labels))
    got = flax_model(ids, attention_mask=mask, labels=labels)
    assert np.abs(np.asarray(got.logits) - expected.logits.numpy()).max() <= 1e-4
    assert abs(float(got.loss) - expected.loss.item()) <= 1e-4


def test_gpt2_encoder_states_equal_pytorch(tmp_path):
    config = gpt2()
    torch.manual_seed(0)
    model = nudged(encoder_class_for(config)(config))
    model.save_pretrained(tmp_path)
    flax_model = flax_encoder_class(config).from_pretrained(tmp_path)
    assert type(flax_model).__name__ == "FlaxGPT2Model"
    ids, mask = padded_batch(config.vocab_size, 0)
    with torch.no_grad():
        expected = model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask)).last_hidden_state
    got = flax_model(ids, attention_mask=mask).last_hidden_state
    real = mask == 1
    assert np.abs(np.asarray(got)[real] - expected.numpy()[real]).max() <= 1e-4
