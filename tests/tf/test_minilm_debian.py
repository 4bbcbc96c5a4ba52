"""The bar on real data: a MiniLM bert2bert, warm-started and trained a few steps on Debian synopses by the
PyTorch side, generates the same tokens in TF (greedy and beam 4) for real, padded descriptions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from warmseq import AutoTokenizer, EncoderDecoderModel
from warmseq.tf import TFEncoderDecoderModel

DATA = Path(__file__).parents[2] / "data" / "debian-synopsis"


def rows(name: str, count: int) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()[:count]
    return [json.loads(line) for line in lines]


@pytest.mark.slow
def test_minilm_bert2bert_generates_the_pytorch_tokens(tmp_path, minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    torch.manual_seed(0)
    model = EncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir)
    model.config.decoder_start_token_id = tokenizer.cls_token_id
    model.config.eos_token_id = tokenizer.sep_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    for layer in model.decoder.stack.layers:  # the README's --cross-attention-from-self: learns to copy fast
        layer.init_cross_attention_from_self()
    train = rows("train.jsonl", 8)
    encoded = tokenizer([r["text"] for r in train], text_target=[r["summary"] for r in train], padding=True,
                        truncation=True, max_length=48, return_tensors="pt")
    labels = encoded.labels.masked_fill(encoded.labels == tokenizer.pad_token_id, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(3):  # a few steps: outputs that depend on the source, not the warm start's noise
        model(input_ids=encoded.input_ids, attention_mask=encoded.attention_mask, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    model.save_pretrained(tmp_path)
    ours = TFEncoderDecoderModel.from_pretrained(tmp_path)
    sources = tokenizer([r["text"] for r in rows("validation.jsonl", 4)], padding=True, truncation=True,
                        max_length=64, return_tensors="pt")
    assert bool((sources.attention_mask == 0).any())  # a padded batch
    # a barely trained model loops on one token or ends at once: n-gram blocking and a minimum length make it
    # write. After 3 steps it writes much the same for every source; beam scores still differ by source.
    for settings in (dict(max_new_tokens=16, min_new_tokens=8, no_repeat_ngram_size=2),
                     dict(num_beams=4, max_new_tokens=16, min_new_tokens=8, no_repeat_ngram_size=2)):
        expected = model.generate(sources.input_ids, attention_mask=sources.attention_mask,
                                  return_dict_in_generate=True, output_scores=True, **settings)
        got = ours.generate(sources.input_ids.numpy(), attention_mask=sources.attention_mask.numpy(),
                            return_dict_in_generate=True, jit_compile=False, **settings)
        np.testing.assert_array_equal(got.sequences.numpy(), expected.sequences.numpy())
        if "num_beams" in settings:
            scores = got.sequences_scores.numpy()
            assert np.abs(scores - expected.sequences_scores.numpy()).max() < 1e-4
            assert np.diff(np.sort(scores)).min() > 1e-4  # each source scores its own way, beyond the tolerance
