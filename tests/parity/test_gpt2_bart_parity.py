"""GPT-2 and BART alone against the peer: logits, loss and checkpoints both ways."""

from __future__ import annotations

import pytest
import torch

from tests.parity.tiny_gpt2_bart import (
    BART_VOCAB,
    GPT2_VOCAB,
    assert_clean,
    assert_close,
    bart_config,
    gpt2_config,
    padded_batch,
    transformers,
)
from warmseq.configs import GPT2Config
from warmseq.modeling.bart import BartEncoder, BartForCausalLM
from warmseq.modeling.gpt2 import GPT2LMHeadModel, GPT2Model


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


def memory_batch(width: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(3)
    memory = torch.randn(3, 6, width)
    mask = torch.ones(3, 6, dtype=torch.long)
    mask[1, 4:] = mask[2, 2:] = 0
    return memory, mask


def labels_for(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ids.masked_fill(mask == 0, -100)


@pytest.mark.parametrize("cross_attention", [True, False])
def test_gpt2_lm_head_model_matches_the_peer_both_ways(tmp_path, cross_attention):
    torch.manual_seed(0)
    peer = transformers.GPT2LMHeadModel(gpt2_config(add_cross_attention=cross_attention)).eval()
    peer.save_pretrained(tmp_path / "peer")
    ours, info = GPT2LMHeadModel.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert_clean(info)
    ids, mask = padded_batch(GPT2_VOCAB)
    labels = labels_for(ids, mask)
    memory, memory_mask = memory_batch(24) if cross_attention else (None, None)
    inputs = dict(input_ids=ids, attention_mask=mask, encoder_hidden_states=memory,
                  encoder_attention_mask=memory_mask, labels=labels)
    theirs_out, ours_out = peer(**inputs), ours(**inputs)
    assert_close(ours_out.logits, theirs_out.logits)
    assert_close(ours_out.loss, theirs_out.loss, "loss")

    ours.save_pretrained(tmp_path / "ours")
    back, info = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert_clean(info)
    assert_close(back.eval()(**inputs).logits, ours_out.logits)


def test_gpt2_model_as_encoder_matches_the_peer_both_ways(tmp_path):
    torch.manual_seed(1)
    peer = transformers.GPT2Model(gpt2_config()).eval()
    peer.save_pretrained(tmp_path / "peer")
    ours, info = GPT2Model.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert_clean(info)
    ids, mask = padded_batch(GPT2_VOCAB)
    expected = peer(input_ids=ids, attention_mask=mask).last_hidden_state
    assert_close(ours(input_ids=ids, attention_mask=mask).last_hidden_state, expected, "hidden states")
    ours.save_pretrained(tmp_path / "ours")
    back, info = transformers.GPT2Model.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert_clean(info)
    assert_close(back.eval()(input_ids=ids, attention_mask=mask).last_hidden_state, expected, "hidden states")


def test_gpt2_head_model_loads_a_bare_gpt2_checkpoint_with_stale_mask_buffers(tmp_path):
    """Checkpoints like the original `gpt2` hold GPT2Model keys (no `transformer.`) and `attn.bias` buffers."""
    torch.manual_seed(2)
    peer = transformers.GPT2Model(gpt2_config()).eval()
    state = {k: v.contiguous() for k, v in peer.state_dict().items()}
    state["h.0.attn.bias"] = torch.ones(1, 1, 64, 64).tril()
    state["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    ours = GPT2LMHeadModel(GPT2Config(**gpt2_config().to_dict()))
    report = ours.load_checkpoint_state(state, "in-memory gpt2")
    assert report.is_clean(), report.table("GPT2LMHeadModel", "in-memory gpt2")
    ids, mask = padded_batch(GPT2_VOCAB)
    assert_close(ours.eval().stack(ids, mask), peer(input_ids=ids, attention_mask=mask).last_hidden_state,
                 "hidden states")


def test_bart_for_causal_lm_matches_the_peer_both_ways(tmp_path):
    torch.manual_seed(4)
    peer = transformers.BartForCausalLM(bart_config()).eval()
    peer.save_pretrained(tmp_path / "peer")
    ours, info = BartForCausalLM.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert_clean(info)
    ids, mask = padded_batch(BART_VOCAB)
    memory, memory_mask = memory_batch(16)
    inputs = dict(input_ids=ids, attention_mask=mask, encoder_hidden_states=memory,
                  encoder_attention_mask=memory_mask, labels=labels_for(ids, mask))  # BART: labels not shifted
    theirs_out, ours_out = peer(**inputs), ours(**inputs)
    assert_close(ours_out.logits, theirs_out.logits)
    assert_close(ours_out.loss, theirs_out.loss, "loss")

    ours.save_pretrained(tmp_path / "ours")
    back, info = transformers.BartForCausalLM.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert_clean(info)
    assert_close(back.eval()(**inputs).logits, ours_out.logits)


def test_bart_decoder_warm_starts_from_a_seq2seq_checkpoint_with_pretrained_cross_attention(tmp_path):
    """facebook/bart-* checkpoints are BartForConditionalGeneration: embeddings only as `model.shared`,
    and `encoder_attn` weights that the decoder must load (not re-initialise)."""
    torch.manual_seed(5)
    peer = transformers.BartForConditionalGeneration(bart_config()).eval()
    peer.save_pretrained(tmp_path / "bart")
    ours, info = BartForCausalLM.from_pretrained(tmp_path / "bart", output_loading_info=True)
    assert_clean(info)  # the encoder half is known and left unread; the embeddings come from model.shared
    source, source_mask = padded_batch(BART_VOCAB, seed=1)
    target, target_mask = padded_batch(BART_VOCAB, length=7, seed=2)
    expected = peer(input_ids=source, attention_mask=source_mask, decoder_input_ids=target,
                    decoder_attention_mask=target_mask).logits
    memory = peer.model.encoder(input_ids=source, attention_mask=source_mask).last_hidden_state
    got = ours(input_ids=target, attention_mask=target_mask, encoder_hidden_states=memory,
               encoder_attention_mask=source_mask).logits
    assert_close(got, expected)


def test_bart_encoder_reads_and_writes_the_bart_model_layout(tmp_path):
    torch.manual_seed(6)
    peer = transformers.BartModel(bart_config()).eval()
    peer.save_pretrained(tmp_path / "peer")
    ours, info = BartEncoder.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert_clean(info)  # `decoder.*` is BART's decoder half: known, unread
    ids, mask = padded_batch(BART_VOCAB)
    expected = peer.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    assert_close(ours(input_ids=ids, attention_mask=mask).last_hidden_state, expected, "hidden states")

    ours.save_pretrained(tmp_path / "ours")
    back, info = transformers.BartModel.from_pretrained(tmp_path / "ours", output_loading_info=True)
    missing = info["missing_keys"]
    assert missing and all(key.startswith("decoder.") for key in missing), missing
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert_close(back.eval().encoder(input_ids=ids, attention_mask=mask).last_hidden_state, expected,
                 "hidden states")
