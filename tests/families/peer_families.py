"""The BERT-layout families next to the peer's classes, and checks shared by their parity tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import transformers

import warmseq.configs as configs
from tests.conftest import padded_batch, tiny_bert_kwargs
from warmseq.modeling import bert, bert_generation, electra, roberta

ATOL = 1e-5


@dataclass(frozen=True)
class Family:
    peer_config: type
    peer_encoder: type
    peer_decoder: type
    encoder: type
    decoder: type
    extra: dict  # sizes beyond tiny_bert_kwargs

    def kwargs(self, **overrides) -> dict:
        return tiny_bert_kwargs(**{**self.extra, **overrides})

    @property
    def pad(self) -> int:
        return self.peer_config().pad_token_id


T = transformers
FAMILIES = {
    "bert": Family(T.BertConfig, T.BertModel, T.BertLMHeadModel, bert.BertModel, bert.BertLMHeadModel, {}),
    "roberta": Family(T.RobertaConfig, T.RobertaModel, T.RobertaForCausalLM, roberta.RobertaModel,
                      roberta.RobertaForCausalLM, {}),
    "xlm-roberta": Family(T.XLMRobertaConfig, T.XLMRobertaModel, T.XLMRobertaForCausalLM, roberta.XLMRobertaModel,
                          roberta.XLMRobertaForCausalLM, {}),
    "electra": Family(T.ElectraConfig, T.ElectraModel, T.ElectraForCausalLM, electra.ElectraModel,
                      electra.ElectraForCausalLM, {"embedding_size": 16}),
    "bert-generation": Family(T.BertGenerationConfig, T.BertGenerationEncoder, T.BertGenerationDecoder,
                              bert_generation.BertGenerationEncoder, bert_generation.BertGenerationDecoder, {}),
}
OUR_CONFIGS = {"roberta": configs.RobertaConfig, "xlm-roberta": configs.XLMRobertaConfig,
               "electra": configs.ElectraConfig, "bert-generation": configs.BertGenerationConfig,
               "bert": configs.BertConfig}


def clean(info: dict) -> bool:
    return not (info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"])


def memory(batch: int = 3, length: int = 5, width: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    states = torch.randn(batch, length, width)
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[0, 3:] = 0
    return states, mask


def check_encoder(name: str, tmp_path: Path) -> None:
    """Peer saves -> we load (same hidden states, padding included) -> we save -> the peer loads."""
    family = FAMILIES[name]
    peer = family.peer_encoder(family.peer_config(**family.kwargs())).eval()
    peer.save_pretrained(tmp_path / "peer")
    ours, info = family.encoder.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert clean(info), info
    ids, mask = padded_batch(99, pad=family.pad)
    with torch.no_grad():
        expected = peer(input_ids=ids, attention_mask=mask).last_hidden_state
        torch.testing.assert_close(ours(ids, mask).last_hidden_state, expected, atol=ATOL, rtol=0)
    ours.save_pretrained(tmp_path / "ours")
    back, info = family.peer_encoder.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert clean(info), info
    with torch.no_grad():
        torch.testing.assert_close(back.eval()(input_ids=ids, attention_mask=mask).last_hidden_state, expected,
                                   atol=ATOL, rtol=0)


def check_decoder(name: str, tmp_path: Path, **overrides) -> None:
    """The decoder with cross-attention, both ways, logits and loss; then cached decoding equals uncached."""
    family = FAMILIES[name]
    config = family.peer_config(**family.kwargs(**overrides), is_decoder=True, add_cross_attention=True)
    peer = family.peer_decoder(config).eval()
    peer.save_pretrained(tmp_path / "peer")
    ours, info = family.decoder.from_pretrained(tmp_path / "peer", output_loading_info=True)
    assert clean(info), info
    ids, mask = padded_batch(99, pad=family.pad)
    states, states_mask = memory()
    inputs = dict(input_ids=ids, attention_mask=mask, encoder_hidden_states=states,
                  encoder_attention_mask=states_mask, labels=ids)
    with torch.no_grad():
        expected = peer(**inputs)
        got = ours(**inputs)
    torch.testing.assert_close(got.logits, expected.logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(got.loss, expected.loss, atol=ATOL, rtol=0)
    ours.save_pretrained(tmp_path / "ours")
    back, info = family.peer_decoder.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert clean(info), info
    with torch.no_grad():
        torch.testing.assert_close(back.eval()(**inputs).logits, expected.logits, atol=ATOL, rtol=0)
    check_cached_decoding(ours, ids[:1].repeat(3, 1), states, states_mask)


def check_cached_decoding(decoder, tokens: torch.Tensor, states: torch.Tensor, states_mask: torch.Tensor) -> None:
    """One token at a time through the cache gives the logits of the whole sequence at once."""
    with torch.no_grad():
        whole = decoder(tokens, None, states, states_mask).logits
        cache = decoder.new_cache(tokens.shape[0], tokens.shape[1], states, states_mask)
        steps = [decoder.logits(decoder.decode(tokens[:, i : i + 1], cache)) for i in range(tokens.shape[1])]
    torch.testing.assert_close(torch.stack(steps, dim=1), whole, atol=ATOL, rtol=0)
