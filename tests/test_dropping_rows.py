"""generate() drops ended rows (greedy) and finished sources (beam search) from its cache, and gives the same
sequences as computing every row to the end."""

from __future__ import annotations

import pytest
import torch

import warmseq
from tests.conftest import padded_batch, tiny_bert_kwargs
from warmseq.modeling import cache as cache_module
from warmseq.modeling import generate as generate_module
from warmseq.modeling import stack
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan

EOS = 49  # with these weights and sources, rows end with it at different steps (or never)


def tiny_model() -> warmseq.EncoderDecoderModel:
    config = warmseq.EncoderDecoderConfig.from_encoder_decoder_configs(
        warmseq.BertConfig(**tiny_bert_kwargs()),
        warmseq.BertConfig(**tiny_bert_kwargs(), is_decoder=True, add_cross_attention=True))
    model = warmseq.EncoderDecoderModel(config=config).eval()
    with torch.no_grad():  # fresh weights give every row the same tokens
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter), alpha=0.3)
    return model


@pytest.mark.parametrize("bags", [False, True], ids=["bmm", "row-sums"])
@pytest.mark.parametrize("kwargs", [dict(), dict(no_repeat_ngram_size=2, repetition_penalty=1.3),
                                    dict(num_beams=3), dict(num_beams=3, length_penalty=0.5, num_return_sequences=2)],
                         ids=["greedy", "greedy-transforms", "beam", "beam-returning-2"])
def test_dropping_ended_rows_gives_the_same_sequences(bags, kwargs, monkeypatch):
    plan = KernelPlan.plain()
    plan.bags = [bags] * len(ROW_BUCKETS)
    monkeypatch.setattr(stack, "current_plan", lambda: plan)
    model = tiny_model()
    ids, mask = padded_batch(99, batch=6, length=10)
    settings = dict(max_new_tokens=16, decoder_start_token_id=1, eos_token_id=EOS, pad_token_id=0, **kwargs)
    kept = []
    real_keep = cache_module.DecoderCache.keep_rows
    monkeypatch.setattr(cache_module.DecoderCache, "keep_rows",
                        lambda self, rows: kept.append(rows.numel()) or real_keep(self, rows))
    dropping = model.generate(ids, attention_mask=mask, **settings)
    assert kept and min(kept) < 6 * kwargs.get("num_beams", 1)  # the path under test was taken
    real_generate_tokens = generate_module.generate_tokens
    monkeypatch.setattr(generate_module, "generate_tokens",
                        lambda *args, keep_rows=None, **kw: real_generate_tokens(*args, **kw))
    kept.clear()
    every_row = model.generate(ids, attention_mask=mask, **settings)
    assert not kept
    assert torch.equal(dropping, every_row)
    if "num_beams" not in kwargs:
        ended = dropping[:, 1:] == EOS
        ends = {int(row.float().argmax()) if row.any() else None for row in ended}
        assert len(ends) > 1 and dropping.shape[1] > 3  # rows ended at different steps, and steps followed


def test_scores_asked_for_keep_every_row(monkeypatch):
    model = tiny_model()
    ids, mask = padded_batch(99, batch=4, length=8)
    kept = []
    real_keep = cache_module.DecoderCache.keep_rows
    monkeypatch.setattr(cache_module.DecoderCache, "keep_rows",
                        lambda self, rows: kept.append(rows.numel()) or real_keep(self, rows))
    out = model.generate(ids, attention_mask=mask, max_new_tokens=12, decoder_start_token_id=1, eos_token_id=EOS,
                         pad_token_id=0, output_scores=True, return_dict_in_generate=True)
    assert not kept and all(scores.shape[0] == 4 for scores in out.scores)
