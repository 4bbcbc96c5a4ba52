"""The dropout rates only one family has: GPT-2's embd_pdrop (after the embeddings) and BART's
activation_dropout (inside the feed-forward). Masks are random, so the checks are on where dropout acts."""

from __future__ import annotations

import torch

from tests.families.test_bart import tiny_config as bart_config
from tests.families.test_gpt2 import tiny_config as gpt2_config
from warmseq.modeling.bart import BartForCausalLM
from warmseq.modeling.gpt2 import GPT2Model


def output(result) -> torch.Tensor:
    return result.logits if hasattr(result, "logits") else result.last_hidden_state


def train_and_eval_outputs(model: torch.nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return output(model.train()(ids)), output(model.eval()(ids))


def test_gpt2_embedding_dropout_is_its_own_rate():
    config = gpt2_config(resid_pdrop=0.0, attn_pdrop=0.0, embd_pdrop=0.3)
    assert config.to_spec().embedding_dropout == 0.3 and config.to_spec().dropout == 0.0
    model = GPT2Model(config)
    assert model.stack.embeddings.dropout.p == 0.3
    ids = torch.randint(0, 87, (2, 7))
    trained, evaluated = train_and_eval_outputs(model, ids)
    assert not torch.allclose(trained, evaluated)  # only the embeddings drop anything here
    model = GPT2Model(gpt2_config(resid_pdrop=0.0, attn_pdrop=0.0, embd_pdrop=0.0))
    trained, evaluated = train_and_eval_outputs(model, ids)
    torch.testing.assert_close(trained, evaluated)


def test_bart_activation_dropout_acts_inside_the_feed_forward():
    config = bart_config(dropout=0.0, attention_dropout=0.0, activation_dropout=0.4)
    assert config.decoder_spec().activation_dropout == 0.4
    model = BartForCausalLM(config)
    assert {block.ffn.dropout.p for block in model.stack.layers} == {0.4}
    assert model.stack.embeddings.dropout.p == 0.0  # BART's embeddings use `dropout`, not this rate
    ids = torch.randint(3, 77, (2, 7))
    trained, evaluated = train_and_eval_outputs(model, ids)
    assert not torch.allclose(trained, evaluated)
    model = BartForCausalLM(bart_config(dropout=0.0, attention_dropout=0.0, activation_dropout=0.0))
    trained, evaluated = train_and_eval_outputs(model, ids)
    torch.testing.assert_close(trained, evaluated)
