"""Logits and loss of the Flax pairs against warmseq's PyTorch pairs on the same weights, every family."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.flax.pairs import PAIRS, both, labels_for, padded_batch, source_vocab, target_vocab

jnp = pytest.importorskip("jax.numpy")


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_logits_and_loss_match_pytorch(tmp_path, name):
    model, flax_model = both(name, tmp_path)
    ids, mask = padded_batch(source_vocab(model), PAIRS[name].pad)
    labels = labels_for(target_vocab(model))
    with torch.no_grad():
        expected = model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask),
                         labels=torch.as_tensor(labels))
    got = flax_model(input_ids=ids, attention_mask=mask, labels=labels)
    assert np.abs(np.asarray(got.logits) - expected.logits.numpy()).max() <= 1e-4
    assert abs(float(got.loss) - float(expected.loss)) <= 1e-4
    assert (flax_model.enc_to_dec_proj is not None) == (model.enc_to_dec_proj is not None)


def test_shared_pair_holds_one_copy(tmp_path):
    model, flax_model = both("roberta2roberta-shared", tmp_path)
    assert flax_model.decoder.stack.embeddings.tokens.embedding is flax_model.encoder.stack.embeddings.tokens.embedding
    assert flax_model.num_parameters() == model.num_parameters()


def test_cached_decoding_equals_whole_sequence(tmp_path):
    _, flax_model = both("bert2gpt2", tmp_path)
    ids, mask = padded_batch(99, 0)
    targets = np.random.default_rng(3).integers(3, 80, (3, 5))
    encoded = flax_model.encode(ids, mask)
    whole = flax_model.decode(targets, encoded, mask).logits
    cache = flax_model.init_cache(3, 8, encoded, mask)
    first = flax_model.decode(targets[:, :2], encoded, past_key_values=cache)  # a chunk, then one by one
    steps = [first.logits]
    cache = first.past_key_values
    for i in range(2, 5):
        out = flax_model.decode(targets[:, i : i + 1], encoded, past_key_values=cache)
        steps.append(out.logits)
        cache = out.past_key_values
    assert np.abs(np.asarray(jnp.concatenate(steps, axis=1)) - np.asarray(whole)).max() <= 1e-5
    assert int(cache.position) == 5


def test_bfloat16_compute_stays_close(tmp_path):
    model, _ = both("bert2bert", tmp_path)
    from warmseq.flax import FlaxEncoderDecoderModel

    low = FlaxEncoderDecoderModel.from_pretrained(tmp_path, dtype=jnp.bfloat16)
    ids, mask = padded_batch(99, 0)
    labels = labels_for(99)
    with torch.no_grad():
        expected = model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask),
                         labels=torch.as_tensor(labels))
    got = low(input_ids=ids, attention_mask=mask, labels=labels)
    assert low.params["decoder"]["lm_head"]["bias"].value.dtype == jnp.float32  # parameters stay float32
    assert abs(float(got.loss) - float(expected.loss)) < 0.05
