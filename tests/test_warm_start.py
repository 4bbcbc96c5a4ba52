"""The foundation's user story on the real MiniLM checkpoint: warm-start, train a step, save, reload."""

from __future__ import annotations

import torch

import warmseq
from warmseq.modeling.outputs import BaseModelOutput


def minilm_pair(minilm_dir):
    model = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir)
    model.config.decoder_start_token_id = 101
    model.config.pad_token_id = 0
    return model


def test_one_training_step_reaches_every_parameter_then_round_trips(tmp_path, minilm_dir):
    model = minilm_pair(minilm_dir)
    assert not model.training and not model.encoder.training and not model.decoder.training
    model.train()
    assert model.encoder.training and model.decoder.training
    ids = torch.randint(1000, 30000, (2, 16))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    labels = torch.randint(1000, 30000, (2, 8))
    labels[1, 6:] = -100
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    without_grad = [name for name, p in model.named_parameters() if p.grad is None]
    assert without_grad == []
    torch.optim.AdamW(model.parameters(), lr=1e-4).step()

    model.eval()
    model.save_pretrained(tmp_path / "out")
    again = warmseq.EncoderDecoderModel.from_pretrained(tmp_path / "out")
    assert again.config.decoder_start_token_id == 101
    with torch.no_grad():
        before = model(input_ids=ids, attention_mask=mask, labels=labels)
        after = again(input_ids=ids, attention_mask=mask, labels=labels)
        reused = again(encoder_outputs=BaseModelOutput(after.encoder_last_hidden_state), attention_mask=mask,
                       labels=labels)
    torch.testing.assert_close(after.logits, before.logits, atol=0, rtol=0)
    torch.testing.assert_close(reused.logits, after.logits, atol=0, rtol=0)


def test_warm_start_keeps_pretrained_weights_and_shares_the_config(minilm_dir):
    model = minilm_pair(minilm_dir)
    encoder = warmseq.BertModel.from_pretrained(minilm_dir)
    torch.testing.assert_close(model.encoder.stack.layers[3].self_attn.qkv.weight,
                               encoder.stack.layers[3].self_attn.qkv.weight)
    torch.testing.assert_close(model.decoder.stack.embeddings.tokens.weight, encoder.stack.embeddings.tokens.weight)
    assert model.decoder.config is model.config.decoder
    assert model.decoder.output_weight() is model.decoder.stack.embeddings.tokens.weight  # tied LM head


def test_summed_loss_counts_target_tokens(minilm_dir):
    model = minilm_pair(minilm_dir)
    ids = torch.randint(1000, 30000, (2, 10))
    labels = torch.randint(1000, 30000, (2, 5))
    labels[0, 3:] = -100
    with torch.no_grad():
        mean = model(input_ids=ids, labels=labels)
        total = model(input_ids=ids, labels=labels, loss_reduction="sum", return_logits=False)
    assert int(total.num_target_tokens) == 8
    torch.testing.assert_close(total.loss / 8, mean.loss)


def test_prefixed_keywords_reach_their_part_and_the_rest_the_pair(minilm_dir):
    """The original API's routing: `encoder_x=` / `decoder_x=` set field x of that part's config only."""
    model = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(
        minilm_dir, minilm_dir, encoder_hidden_dropout_prob=0.25, decoder_attention_probs_dropout_prob=0.3,
        decoder_start_token_id=101)
    assert model.encoder.config.hidden_dropout_prob == 0.25
    assert model.decoder.config.hidden_dropout_prob == 0.1  # MiniLM's own, untouched
    assert model.decoder.config.attention_probs_dropout_prob == 0.3
    assert model.encoder.config.attention_probs_dropout_prob == 0.1
    # a pair field whose name starts like a part's prefix goes to the part: the original routes it so too
    assert model.decoder.config.start_token_id == 101
    assert model.config.decoder_start_token_id is None
