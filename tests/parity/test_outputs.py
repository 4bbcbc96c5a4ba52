"""output_attentions / output_hidden_states against the peer: forward for every tested pair (padded batches),
and generate() (greedy and beam), values within 1e-5."""

from __future__ import annotations

import pytest
import torch
import transformers

import warmseq
from tests.conftest import padded_batch
from tests.families.pairs import peer_pair as peer_bert_layout_pair
from tests.parity import tiny_gpt2_bart as tiny

FIELDS = ("encoder_hidden_states", "encoder_attentions", "decoder_hidden_states", "decoder_attentions",
          "cross_attentions")
BERT_LAYOUT = {"bert2bert": ("bert", "bert"), "roberta2roberta": ("roberta", "roberta"),
               "electra2bert": ("electra", "bert"), "bertgen2bertgen": ("bert-generation", "bert-generation")}
OTHERS = {"bert2gpt2": (tiny.bert_config, tiny.gpt2_config, tiny.BERT_VOCAB, tiny.GPT2_VOCAB, tiny.GPT2_END, 0),
          "bert2bart": (tiny.bert_config, tiny.bart_config, tiny.BERT_VOCAB, tiny.BART_VOCAB, 2, 1),
          "bart2gpt2": (tiny.bart_config, tiny.gpt2_config, tiny.BART_VOCAB, tiny.GPT2_VOCAB, tiny.GPT2_END, 0)}


def eager(peer):
    peer.config._attn_implementation = "eager"  # the peer returns weights from its eager attention only
    return peer


def perturbed(peer):
    """Biases and norms away from their zero/one start, so that a dropped bias or norm shows."""
    with torch.no_grad():
        for name, param in peer.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name or "ln_" in name or "layernorm" in name:
                param.add_(torch.randn_like(param) * 0.1)
    return peer


def build(name: str, tmp_path):
    """(peer, ours, forward inputs, source vocab) for a pair of the README matrix, same weights."""
    if name in BERT_LAYOUT:
        encoder, decoder = BERT_LAYOUT[name]
        peer = peer_bert_layout_pair(encoder, decoder)
        ids, mask = padded_batch(99, pad=peer.config.encoder.pad_token_id)
        decoder_ids, decoder_mask = padded_batch(99, length=6, pad=peer.config.pad_token_id)
        source_vocab = 99
    else:
        encoder_config, decoder_config, source_vocab, target_vocab, start, pad = OTHERS[name]
        config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(encoder_config(), decoder_config())
        peer = transformers.EncoderDecoderModel(config=config).eval()
        peer.config.decoder_start_token_id, peer.config.pad_token_id = start, pad
        ids, mask = tiny.padded_batch(source_vocab, seed=1)
        decoder_ids, decoder_mask = tiny.padded_batch(target_vocab, length=6, seed=2)
    peer = eager(perturbed(peer))
    peer.save_pretrained(tmp_path)
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    inputs = dict(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids,
                  decoder_attention_mask=decoder_mask)
    return peer, ours, inputs, source_vocab


def peer_encoder_outputs(peer, inputs: dict, **flags):
    """A BART encoder seat: warmseq runs BART's encoder stack (docs/bart-as-encoder.md); so is the peer made to."""
    if isinstance(peer.encoder, transformers.BartModel):
        return peer.encoder.encoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], **flags)
    return None


def assert_same(got, expected, what: str) -> None:
    assert got is not None and expected is not None, what
    assert len(got) == len(expected) > 0, f"{what}: {len(got)} entries, the peer {len(expected)}"
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        if isinstance(a, tuple):
            assert_same(a, b, f"{what}[{i}]")
            continue
        assert a.shape == b.shape, f"{what}[{i}]: shape {tuple(a.shape)}, the peer {tuple(b.shape)}"
        diff = (a - b).abs().max().item()
        assert diff <= 1e-5, f"{what}[{i}] differs from the peer's by {diff:.2e}"


@pytest.mark.parametrize("name", [*BERT_LAYOUT, *OTHERS])
def test_forward_outputs_match_the_peer(tmp_path, name):
    peer, ours, inputs, _ = build(name, tmp_path)
    flags = dict(output_attentions=True, output_hidden_states=True)
    with torch.no_grad():
        encoded = peer_encoder_outputs(peer, inputs, **flags)
        expected = peer(**inputs, **flags, **({"encoder_outputs": encoded} if encoded is not None else {}))
        got = ours(**inputs, **flags)
    for field in FIELDS:
        source = encoded if encoded is not None and field.startswith("encoder_") else expected
        assert_same(got[field], source[field.replace("encoder_", "")] if source is encoded else source[field], field)
    torch.testing.assert_close(got.logits, expected.logits, atol=1e-5, rtol=0)
    layers = ours.decoder.spec.num_layers
    assert len(got.decoder_hidden_states) == layers + 1 and len(got.cross_attentions) == layers


def test_outputs_follow_the_parts_configs_not_the_pairs(tmp_path):
    """As the original: `config.output_attentions` of the pair is not read; the encoder's and decoder's are."""
    _, ours, inputs, _ = build("bert2bert", tmp_path)
    ours.config.output_attentions = ours.config.output_hidden_states = True
    with torch.no_grad():
        plain = ours(**inputs)
    assert not any(field in plain for field in FIELDS) and plain.decoder_attentions is None
    ours.config.encoder.output_attentions = True
    ours.config.decoder.output_hidden_states = True
    with torch.no_grad():
        got = ours(**inputs)
    assert "encoder_attentions" in got and "decoder_hidden_states" in got
    assert "decoder_attentions" not in got and "encoder_hidden_states" not in got
    with torch.no_grad():
        overridden = ours(**inputs, output_attentions=False)
    assert "encoder_attentions" not in overridden
    torch.testing.assert_close(got.logits, plain.logits, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["bert2gpt2", "bert2bart", "roberta2roberta"])
@pytest.mark.parametrize("beams", [1, 3])
def test_generate_outputs_match_the_peer(tmp_path, name, beams):
    peer, ours, inputs, _ = build(name, tmp_path)
    settings = dict(attention_mask=inputs["attention_mask"], max_new_tokens=4, num_beams=beams, eos_token_id=None,
                    return_dict_in_generate=True, output_attentions=True, output_hidden_states=True,
                    output_scores=True)
    with torch.no_grad():
        expected = peer.generate(inputs["input_ids"], **settings)
        got = ours.generate(inputs["input_ids"], **settings)
    assert torch.equal(got.sequences, expected.sequences)
    for field in FIELDS:
        assert_same(got[field], expected[field], field)
    assert ("sequences_scores" in got) == (beams > 1) and "decoder_attentions" in got
    assert len(got.decoder_attentions) == 4  # one entry per new token
    assert got.decoder_attentions[-1][0].shape == (3 * beams, ours.decoder.spec.num_heads, 1, 4)


def test_without_outputs_the_fast_paths_run(tmp_path, monkeypatch):
    """Asking for nothing never forms attention weights explicitly, in forward or in generate."""
    _, ours, inputs, _ = build("bert2gpt2", tmp_path)
    from warmseq.modeling.block import Block

    def refuse(*args, **kwargs):
        raise AssertionError("the slow path ran")

    monkeypatch.setattr(Block, "forward_with_weights", refuse)
    with torch.no_grad():
        ours(**inputs)
    ours.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=3,
                  return_dict_in_generate=True, output_scores=True)
    with pytest.raises(AssertionError, match="slow path"):
        ours.generate(inputs["input_ids"], max_new_tokens=3, return_dict_in_generate=True, output_attentions=True)


def test_a_decoder_alone_returns_the_peers_outputs(tmp_path):
    """CausalLM.forward: hidden states, self- and cross-attention weights of a decoder given encoder states."""
    peer = peer_bert_layout_pair("bert", "bert").decoder
    eager(perturbed(peer)).save_pretrained(tmp_path)
    ours = warmseq.BertLMHeadModel.from_pretrained(tmp_path)
    ids, mask = padded_batch(99, length=6)
    states, states_mask = torch.randn(3, 5, 32), torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] * 4 + [0]])
    inputs = dict(input_ids=ids, attention_mask=mask, encoder_hidden_states=states,
                  encoder_attention_mask=states_mask, output_attentions=True, output_hidden_states=True)
    with torch.no_grad():
        expected, got = peer(**inputs), ours(**inputs)
    for field in ("hidden_states", "attentions", "cross_attentions"):
        assert_same(got[field], expected[field], field)
    assert "attentions" not in ours(ids)
