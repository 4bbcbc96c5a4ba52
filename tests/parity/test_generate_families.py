"""generate() against the peer's for every decoder family: greedy and beam tokens on tiny random pairs,
with padding, and at 16 and 20 rows where the decode steps use packed weights; cross-attention as the plan
chooses and by weighted row sums."""

from __future__ import annotations

import pytest
import torch

import warmseq
from tests.conftest import padded_batch
from tests.families.pairs import START
from tests.families.pairs import peer_pair as family_pair
from tests.families.peer_families import FAMILIES
from tests.parity.test_gpt2_bart_pairs import PAIRS as GPT2_BART_PAIRS
from tests.parity.test_gpt2_bart_pairs import bart_encoder_states
from tests.parity.test_gpt2_bart_pairs import peer_pair as gpt2_bart_pair
from warmseq.modeling import stack
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan

transformers = pytest.importorskip("transformers")

SEARCHES = [(3, dict(max_new_tokens=8)), (3, dict(num_beams=3, max_new_tokens=8)),
            (16, dict(max_new_tokens=8)), (5, dict(num_beams=4, max_new_tokens=6))]
SEARCH_IDS = ["greedy-3", "beam3-3", "greedy-16", "beam4-5"]
EOS = 5  # drawn often enough by the tiny random decoders that some rows finish early


def build(name: str):
    """(peer, special ids, source vocabulary) of one tiny random pair."""
    peer, special, source_vocab = build_pair(name)
    with torch.no_grad():  # fresh models have zero biases and unit norms, which would hide a bias left out
        for parameter in peer.parameters():
            parameter.add_(torch.randn_like(parameter), alpha=0.05)
    return peer, special, source_vocab


def build_pair(name: str):
    if name in GPT2_BART_PAIRS:
        encoder_config, decoder_config, source_vocab, _, start, pad = GPT2_BART_PAIRS[name]
        # GPT-2 and BART decoders start with their end token (GPT-2's bos == eos; BART's </s> is 2)
        return gpt2_bart_pair(encoder_config(), decoder_config(), start, pad), \
            dict(decoder_start_token_id=start, pad_token_id=pad, eos_token_id=start), source_vocab
    encoder, decoder = name.split("2")
    torch.manual_seed(0)
    peer = family_pair(encoder, decoder)
    return peer, dict(decoder_start_token_id=START, pad_token_id=FAMILIES[decoder].pad, eos_token_id=EOS), 99


PAIRS = ["roberta2roberta", "electra2bert", "bert-generation2bert-generation", *sorted(GPT2_BART_PAIRS)]


@pytest.mark.parametrize("batch, kwargs", SEARCHES, ids=SEARCH_IDS)
@pytest.mark.parametrize("name", PAIRS)
def test_generate_matches_peer(tmp_path, name, batch, kwargs):
    assert_generate_matches_peer(tmp_path, name, batch, kwargs)


@pytest.mark.parametrize("batch, kwargs", [SEARCHES[0], SEARCHES[3]], ids=[SEARCH_IDS[0], SEARCH_IDS[3]])
@pytest.mark.parametrize("name", PAIRS)
def test_cross_attention_by_row_sums_matches_peer(tmp_path, name, batch, kwargs, monkeypatch):
    """`memory_bags` at every source count (the plan may take it only at some)."""
    plan = KernelPlan.plain()
    plan.bags = [True] * len(ROW_BUCKETS)
    monkeypatch.setattr(stack, "current_plan", lambda: plan)
    assert_generate_matches_peer(tmp_path, name, batch, kwargs)


def assert_generate_matches_peer(tmp_path, name: str, batch: int, kwargs: dict) -> None:
    peer, special, source_vocab = build(name)
    peer.save_pretrained(tmp_path)
    ours = warmseq.EncoderDecoderModel.from_pretrained(tmp_path)
    torch.manual_seed(1)
    ids, mask = padded_batch(source_vocab, batch=batch, length=2 * batch + 4, pad=special["pad_token_id"], start=3)
    peer_inputs = dict(input_ids=ids, attention_mask=mask)
    if name.startswith("bart"):  # the peer's BART encoder seat needs its encoder states handed in
        states = bart_encoder_states(peer, peer_inputs)[0]
        peer_inputs["encoder_outputs"] = transformers.modeling_outputs.BaseModelOutput(last_hidden_state=states)
    with torch.no_grad():
        expected = peer.generate(**peer_inputs, **special, **kwargs)
    got = ours.generate(ids, attention_mask=mask, **special, **kwargs)
    assert torch.equal(got, expected), f"ours:\n{got}\npeer:\n{expected}"
