"""Training, resuming and evaluating warmseq's own EncoderDecoderModel (a tiny random bert2bert)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_setup import vocabulary_size

import warmseq
from warmseq.tokenization import AutoTokenizer
from warmseq.training import TrainConfig, evaluate, train
from warmseq.training.accumulation import accumulate_gradients
from warmseq.training.batching import pad_batch
from warmseq.training.records import read_text_pairs
from warmseq.training.tokenized import tokenize_pairs

needs_generate = pytest.mark.skipif(
    not hasattr(warmseq.EncoderDecoderModel, "generate"), reason="EncoderDecoderModel.generate has not landed yet"
)


@pytest.fixture(scope="module")
def bert_pair(tmp_path_factory: pytest.TempPathFactory, vocab_folder: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bert2bert")
    sizes = dict(
        vocab_size=vocabulary_size(vocab_folder),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    warmseq.BertModel(warmseq.BertConfig(**sizes)).save_pretrained(root / "encoder")
    warmseq.BertLMHeadModel(warmseq.BertConfig(**sizes, is_decoder=True)).save_pretrained(root / "decoder")
    for folder in ("encoder", "decoder"):
        for file in ("vocab.txt", "tokenizer_config.json"):
            shutil.copy(vocab_folder / file, root / folder / file)
    return root / "encoder", root / "decoder"


def bert_config(bert_pair, data_files, output_dir: Path, **overrides: object) -> TrainConfig:
    values = dict(
        encoder=str(bert_pair[0]),
        decoder=str(bert_pair[1]),
        train=str(data_files[0]),
        validation=None,
        output_dir=str(output_dir),
        max_steps=10,
        batch_size=8,
        lr=3e-3,
        warmup_steps=2,
        max_source_length=48,
        max_target_length=12,
        save_every=5,
        log_every=1,
        show_progress=False,
        seed=1,
        eval_max_new_tokens=6,
    )
    values.update(overrides)
    return TrainConfig(**values)


def test_training_lowers_the_loss_and_saves_a_loadable_checkpoint(bert_pair, data_files, tmp_path: Path) -> None:
    result = train(bert_config(bert_pair, data_files, tmp_path / "run", max_steps=16, save_every=8))
    assert sum(result.losses[-3:]) < sum(result.losses[:3])
    checkpoint = tmp_path / "run" / "checkpoint-16"
    model = warmseq.EncoderDecoderModel.from_pretrained(checkpoint)
    assert (model.config.decoder_start_token_id, model.config.eos_token_id, model.config.pad_token_id) == (2, 3, 0)
    assert AutoTokenizer.from_pretrained(checkpoint).cls_token_id == 2
    saved = load_file(str(checkpoint / "model.safetensors"))
    trained = result.model.checkpoint_state()  # the trained weights under the checkpoint's key names
    assert saved and saved.keys() == trained.keys()
    assert all(torch.equal(saved[name], trained[name]) for name in saved)


def test_resume_equals_uninterrupted_with_dropout(bert_pair, data_files, tmp_path: Path) -> None:
    config = bert_config(bert_pair, data_files, tmp_path / "run", max_steps=6, save_every=3, grad_accum=2)
    straight = train(config)
    reference = load_file(str(tmp_path / "run" / "checkpoint-6" / "model.safetensors"))
    shutil.rmtree(tmp_path / "run" / "checkpoint-6")
    resumed = train(
        bert_config(bert_pair, data_files, tmp_path / "run", max_steps=6, save_every=3, grad_accum=2, resume=True)
    )
    assert resumed.losses == straight.losses[3:]
    again = load_file(str(tmp_path / "run" / "checkpoint-6" / "model.safetensors"))
    assert reference and again.keys() == reference.keys()
    assert all(torch.equal(again[name], reference[name]) for name in reference)


def test_accumulated_gradient_equals_one_batch_on_the_real_model(bert_pair, data_files, vocab_folder) -> None:
    tokenizer = AutoTokenizer.from_pretrained(vocab_folder)
    texts = read_text_pairs(data_files[0], "text", "summary")
    tokens = tokenize_pairs(texts, tokenizer, tokenizer, 32, 12, eos_token_id=3)

    def fresh_model() -> warmseq.EncoderDecoderModel:
        torch.manual_seed(0)
        model = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained(*map(str, bert_pair))
        model.config.decoder_start_token_id, model.config.pad_token_id = 2, 0
        return model.eval()  # no dropout: the two ways must see the same function

    micro = [pad_batch(tokens, [0, 1, 2], 0), pad_batch(tokens, [3], 0), pad_batch(tokens, [4, 5, 6, 7], 0)]
    accumulated = fresh_model()
    accumulate_gradients(accumulated, micro, sum(b.target_token_count for b in micro), label_smoothing=0.1)
    big = fresh_model()
    whole = pad_batch(tokens, list(range(8)), 0)
    big(
        input_ids=whole.input_ids, attention_mask=whole.attention_mask, labels=whole.labels, label_smoothing=0.1
    ).loss.backward()
    for (name, mine), reference in zip(accumulated.named_parameters(), big.parameters(), strict=True):
        torch.testing.assert_close(mine.grad, reference.grad, rtol=1e-4, atol=1e-6, msg=name)


@needs_generate
def test_validation_and_evaluate_write_scores(bert_pair, data_files, tmp_path: Path) -> None:
    config = bert_config(
        bert_pair, data_files, tmp_path / "run", max_steps=4, save_every=4, eval_every=2, validation=str(data_files[1])
    )
    result = train(config)
    assert result.best_checkpoint is not None and {"rouge1", "rougeL"} <= set(result.validation)
    scored = evaluate(
        tmp_path / "run" / "checkpoint-4",
        data_files[1],
        output_dir=tmp_path / "eval",
        max_new_tokens=5,
        num_beams=2,
        with_bleu=True,
    )
    assert scored.count == 8 and {"rouge1", "rouge2", "rougeL", "bleu"} <= set(scored.scores)
    lines = scored.predictions_path.read_text().splitlines()
    assert len(lines) == 8 and {"source", "reference", "prediction"} == set(json.loads(lines[0]))
    assert json.loads(scored.scores_path.read_text())["num_beams"] == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="autocast precisions run on CUDA only")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cuda(bert_pair, data_files, tmp_path: Path, precision: str) -> None:
    result = train(bert_config(bert_pair, data_files, tmp_path / precision, max_steps=4, precision=precision))
    assert len(result.losses) == 4 and all(loss == loss and loss < 100 for loss in result.losses)
    assert next(result.model.parameters()).dtype == torch.float32
