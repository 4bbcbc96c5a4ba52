"""The real MiniLM checkpoint: the Flax warm start equals the PyTorch one, and compiled greedy and beam-4
generate equal warmseq's PyTorch generate on real Debian descriptions (padded batch, 32 new tokens).

The pair is the warm start itself (MiniLM encoder and decoder, seeded random cross-attention), not fine-tuned:
its outputs are not good synopses, but every token is the argmax of a real 30,522-way distribution."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.conftest import DATA_DIR
from warmseq import AutoTokenizer, EncoderDecoderModel

jax = pytest.importorskip("jax")
from warmseq.flax import FlaxEncoderDecoderModel  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(minilm_dir, tmp_path_factory):
    torch.manual_seed(0)
    model = EncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir)
    model.config.decoder_start_token_id, model.config.pad_token_id, model.config.eos_token_id = 101, 0, 102
    folder = tmp_path_factory.mktemp("minilm-bert2bert")
    model.save_pretrained(folder)
    return model.eval(), FlaxEncoderDecoderModel.from_pretrained(folder)


@pytest.fixture(scope="module")
def batch(minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    lines = (DATA_DIR / "debian-synopsis" / "validation.jsonl").read_text(encoding="utf-8").splitlines()[:4]
    records = [json.loads(line) for line in lines]
    encoded = tokenizer([r["text"] for r in records], text_target=[r["summary"] for r in records], padding=True,
                        truncation=True, max_length=64, return_tensors="np")
    assert (encoded["attention_mask"] == 0).any()  # a padded batch
    labels = np.where(encoded["labels"] == 0, -100, encoded["labels"])
    return dict(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"], labels=labels)


def test_flax_warm_start_equals_pytorch_warm_start(minilm_dir, batch):
    flax_model, info = FlaxEncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir,
                                                                               output_loading_info=True)
    torch.manual_seed(0)
    model, torch_info = EncoderDecoderModel.from_encoder_decoder_pretrained(minilm_dir, minilm_dir,
                                                                            output_loading_info=True)
    assert info == torch_info  # the same keys newly initialised (cross-attention, the LM head's transform)
    new = {f"{part}.{key}" for part in ("encoder", "decoder") for key in info[part]["missing_keys"]}
    ours, theirs = flax_model.checkpoint_state(), model.checkpoint_state()
    assert ours.keys() == theirs.keys()
    pretrained = [k for k in ours if k not in new]
    assert len(pretrained) > 100 and any("crossattention" in k for k in new)
    assert all(np.array_equal(ours[k], theirs[k].numpy()) for k in pretrained)
    states = flax_model.encode(batch["input_ids"], batch["attention_mask"]).last_hidden_state
    with torch.no_grad():
        expected = model.encoder(input_ids=torch.as_tensor(batch["input_ids"]),
                                 attention_mask=torch.as_tensor(batch["attention_mask"])).last_hidden_state
    real = batch["attention_mask"] == 1
    assert np.abs(np.asarray(states)[real] - expected.numpy()[real]).max() <= 1e-4


def test_logits_and_loss_equal_pytorch(pair, batch):
    model, flax_model = pair
    with torch.no_grad():
        expected = model(**{k: torch.as_tensor(v) for k, v in batch.items()})
    got = flax_model(**batch)
    counts = batch["labels"] != -100  # padded target rows attend to padding only: compared relatively below
    difference = np.abs(np.asarray(got.logits) - expected.logits.numpy())
    assert difference[counts].max() <= 1e-4
    assert difference.max() <= 1e-4 * np.abs(expected.logits.numpy()).max()
    assert abs(float(got.loss) - float(expected.loss)) <= 1e-4


@pytest.mark.parametrize("search", [dict(), dict(num_beams=4)], ids=["greedy", "beam4"])
def test_generate_equals_pytorch_on_debian_descriptions(pair, batch, search):
    model, flax_model = pair
    ids, mask = batch["input_ids"], batch["attention_mask"]
    expected = model.generate(torch.as_tensor(ids), attention_mask=torch.as_tensor(mask), max_new_tokens=32,
                              **search).numpy()
    got = flax_model.generate(ids, attention_mask=mask, max_new_tokens=32, **search).sequences
    assert got.shape[1] > 20
    assert np.array_equal(got, expected), f"flax:\n{got}\npytorch:\n{expected}"
