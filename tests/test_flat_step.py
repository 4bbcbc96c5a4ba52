"""The scripted decode step (`flat_step.run_blocks`) gives `Block.step`'s values to the bit: every family's block
layout (post-norm BERT, pre-norm GPT-2, BART), every product path and compute type, cross-attention by products
and by row sums, several rows per source, padded sources; and generate() takes it, with the same tokens and
scores."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import padded_batch
from warmseq import configs
from warmseq.modeling import flat_step, kernel_plan, linear, packed, quantization, scripting, stack
from warmseq.modeling.block import ACTIVATIONS
from warmseq.modeling.encoder_decoder import EncoderDecoderModel
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan
from warmseq.modeling.products import has_onednn, onednn_product, pack_weight, run_path

BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=64)
DECODERS = {
    "bert": lambda: configs.BertConfig(**BERT),  # post-norm, erf GELU
    "gpt2": lambda: configs.GPT2Config(vocab_size=87, n_embd=32, n_layer=2, n_head=4, n_positions=64),  # pre-norm
    "bart": lambda: configs.BartConfig(vocab_size=77, d_model=32, encoder_layers=2, decoder_layers=2,
                                       encoder_attention_heads=4, decoder_attention_heads=2, encoder_ffn_dim=29,
                                       decoder_ffn_dim=31, max_position_embeddings=64, scale_embedding=True),
}
PATHS = ["halves", "onednn", "packed"]


def model_with(decoder: str) -> EncoderDecoderModel:
    config = configs.EncoderDecoderConfig.from_encoder_decoder_configs(configs.BertConfig(**BERT), DECODERS[decoder]())
    model = EncoderDecoderModel(config=config).eval()
    with torch.no_grad():  # fresh models have zero biases and unit norms, which would hide a bias or norm left out
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter), alpha=0.05)
    return model


def encoded_sources(model: EncoderDecoderModel, sources: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's states of `sources` padded sources at the decoder's width, and their 0/1 mask."""
    ids, mask = padded_batch(99, batch=sources, length=7 + sources)
    with torch.inference_mode():
        memory = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return model.enc_to_dec_proj(memory) if model.enc_to_dec_proj is not None else memory, mask


def use_plan(monkeypatch, first: str, bags: bool) -> None:
    """Every product by `first` (then the others), cross-attention by row sums or not, whatever this machine's plan."""
    if first in ("onednn", "packed") and not has_onednn():
        pytest.skip("no oneDNN here")
    ranking = [first] + [p for p in ("packed", "onednn", "halves", "linear") if p != first]
    plan = KernelPlan({kind: [list(ranking) for _ in ROW_BUCKETS] for kind in kernel_plan.SHAPES}, {},
                      bags=[bags] * len(ROW_BUCKETS))
    for module in (linear, packed, stack):
        monkeypatch.setattr(module, "current_plan", lambda: plan)


@pytest.mark.parametrize("decoder", sorted(DECODERS))
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("sources, per_source", [(1, 1), (3, 1), (2, 3), (1, 10)])  # (1, 10): the fused kernel
@pytest.mark.parametrize("bags", [False, True])
def test_run_blocks_equals_block_steps(decoder, path, sources, per_source, bags, monkeypatch):
    use_plan(monkeypatch, path, bags)
    model = model_with(decoder)
    rows = sources * per_source
    memory, mask = encoded_sources(model, sources)
    with torch.inference_mode():
        copy, _ = packed.packed_decoder(model.decoder, rows)
        blocks = flat_step.FlatBlocks.of(copy.stack)
        assert blocks is not None
        by_blocks = model.decoder.new_cache(rows, 8, memory, mask)
        by_flat = model.decoder.new_cache(rows, 8, memory, mask)
        assert (by_flat.memory_bags is not None) == bags and (by_flat.memory_mask is not None) == (sources > 1)
        for step in range(4):
            tokens = torch.randint(3, 70, (rows, 1))
            expected = copy.stack.decode(tokens, by_blocks)
            got = blocks.decode(copy.stack, tokens, by_flat)
            assert torch.equal(got, expected), f"step {step}: {(got - expected).abs().max()}"
            if per_source > 1:  # beams: rows change places between steps
                order = torch.randperm(rows).view(sources, per_source).sort(dim=0).values.flatten()
                by_blocks, by_flat = by_blocks.select_rows(order), by_flat.select_rows(order)
        filled = (..., slice(0, 4), slice(None))  # the buffers are allocated empty past what the steps wrote
        assert torch.equal(by_flat.buffer[filled], by_blocks.buffer[filled])
        assert by_flat.position == by_blocks.position == 4 and by_flat.layers[-1].length == 4


@pytest.mark.parametrize("decoder", sorted(DECODERS))
@pytest.mark.parametrize("compute_type", ["int8", "bf16"])
@pytest.mark.parametrize("sources, per_source", [(1, 1), (2, 3)])
@pytest.mark.parametrize("bags", [False, True])
def test_run_blocks_equals_block_steps_in_low_precision(decoder, compute_type, sources, per_source, bags, monkeypatch):
    use_plan(monkeypatch, "halves", bags)
    model = model_with(decoder)
    rows = sources * per_source
    memory, mask = encoded_sources(model, sources)
    with torch.inference_mode():
        copy, _ = quantization.decode_modules_for(model.decoder, rows, compute_type)
        blocks = flat_step.FlatBlocks.of(copy.stack)
        assert blocks is not None and bool(blocks.weights.int8) == (compute_type == "int8")
        by_blocks = copy.new_cache(rows, 8, memory, mask)
        by_flat = copy.new_cache(rows, 8, memory, mask)
        for step in range(3):
            tokens = torch.randint(3, 70, (rows, 1))
            expected = copy.stack.decode(tokens, by_blocks)
            got = blocks.decode(copy.stack, tokens, by_flat)
            assert torch.equal(got, expected), f"step {step}: {(got - expected).abs().max()}"


@pytest.mark.parametrize("path", ["linear", "halves", "onednn", "packed"])
@pytest.mark.parametrize("shape", [(1, 1, 24), (3, 1, 24), (5, 24)])
@pytest.mark.parametrize("has_bias", [True, False])
def test_products_equal_the_plans_paths(path, shape, has_bias):
    if path in ("onednn", "packed") and not has_onednn():
        pytest.skip("no oneDNN here")
    x, weight = torch.randn(shape), torch.randn(14, 24)
    bias = torch.randn(14) if has_bias else None
    with torch.inference_mode():
        if path == "packed":
            expected = onednn_product(x, pack_weight(weight, 3), bias)
            got = flat_step.product(x, pack_weight(weight, 3), bias, flat_step.ONEDNN)
        else:
            expected = run_path(path, x, weight, bias)
            got = flat_step.product(x, weight, bias, flat_step.PATH_CODES[path])
        scripted = torch.jit.script(flat_step.product)(x, weight if path != "packed" else pack_weight(weight, 3), bias,
                                                       flat_step.PATH_CODES.get(path, flat_step.ONEDNN))
    assert torch.equal(got, expected) and torch.equal(scripted, expected) and got.shape == (*shape[:-1], 14)


@pytest.mark.parametrize("decoder", sorted(DECODERS))
@pytest.mark.parametrize("batch, kwargs", [(1, dict(max_new_tokens=9)), (4, dict(max_new_tokens=9)),
                                           (2, dict(num_beams=3, num_return_sequences=2, max_new_tokens=7))])
@pytest.mark.parametrize("bags", [False, True])
@pytest.mark.parametrize("compute_type", ["float32", "int8", "bf16"])
def test_generate_takes_it_with_the_same_tokens_and_scores(decoder, batch, kwargs, bags, compute_type, monkeypatch,
                                                           plan=None):
    use_plan(monkeypatch, plan or ("halves" if batch == 1 else "packed"), bags)
    model = model_with(decoder)
    ids, mask = padded_batch(99, batch=batch, length=6 + batch)
    special = dict(decoder_start_token_id=1, pad_token_id=0, eos_token_id=None, output_scores=True,
                   return_dict_in_generate=True, compute_type=compute_type)
    calls = []
    decode = flat_step.FlatBlocks.decode
    monkeypatch.setattr(flat_step.FlatBlocks, "decode", lambda *args: calls.append(1) or decode(*args))
    flat = model.generate(ids, attention_mask=mask, **special, **kwargs)
    assert len(calls) == kwargs["max_new_tokens"]
    monkeypatch.setattr(flat_step.FlatBlocks, "of", staticmethod(lambda stack, plain_path=None: None))
    plain = model.generate(ids, attention_mask=mask, **special, **kwargs)
    assert len(calls) == kwargs["max_new_tokens"]
    assert torch.equal(flat.sequences, plain.sequences)
    assert len(flat.scores) == len(plain.scores) == kwargs["max_new_tokens"]
    assert all(map(torch.equal, flat.scores, plain.scores))


def test_blocks_run_scripted_here_and_unscripted_where_torchscript_fails(monkeypatch):
    scripting.scripted.cache_clear()
    assert isinstance(scripting.scripted(flat_step.run_blocks), torch.jit.ScriptFunction)

    def refuse(_function):
        raise RuntimeError("TorchScript is gone")

    monkeypatch.setattr(torch.jit, "script", refuse)
    scripting.scripted.cache_clear()
    try:
        assert scripting.scripted(flat_step.run_blocks) is flat_step.run_blocks
        test_generate_takes_it_with_the_same_tokens_and_scores("gpt2", 2, dict(num_beams=3, max_new_tokens=5),
                                                               False, "float32", monkeypatch)
    finally:
        scripting.scripted.cache_clear()


def test_only_step_copies_take_it_unless_plain_linears_are_given_a_path():
    model = model_with("bert")
    assert flat_step.FlatBlocks.of(model.decoder.stack) is None  # plain linears: the plan is read per product
    blocks = flat_step.FlatBlocks.of(model.decoder.stack, flat_step.LINEAR)
    assert blocks.weights.paths == [flat_step.LINEAR] * 6 * len(model.decoder.stack.layers)
    assert set(ACTIVATIONS) <= set(flat_step.ACTIVATION_CODES)  # every activation a family can name has a code


@pytest.mark.parametrize("decoder", sorted(DECODERS))
@pytest.mark.parametrize("batch, kwargs", [(1, dict(max_new_tokens=6)), (2, dict(num_beams=3, max_new_tokens=5))])
def test_where_the_plan_ranks_f_linear_first_the_decoder_takes_it_too(decoder, batch, kwargs, monkeypatch):
    # a processor where MKL is fast: no product leaves F.linear, so there is no copy, and the decoder's own
    # blocks run as the one function, with the same tokens and scores as its Python step
    use_plan(monkeypatch, "linear", False)
    model = model_with(decoder)
    assert packed.packed_decoder(model.decoder, batch * kwargs.get("num_beams", 1))[0] is None
    test_generate_takes_it_with_the_same_tokens_and_scores(decoder, batch, kwargs, False, "float32", monkeypatch,
                                                           plan="linear")


@pytest.mark.parametrize("left", ["cpu kernels off", "training mode"])
def test_the_plain_pytorch_step_stays_where_asked(left, monkeypatch):
    model = model_with("bert")
    if left == "training mode":
        use_plan(monkeypatch, "halves", False)
        model.train()
    else:
        for module in (linear, packed, stack):
            monkeypatch.setattr(module, "current_plan", KernelPlan.plain)
    calls = []
    decode = flat_step.FlatBlocks.decode
    monkeypatch.setattr(flat_step.FlatBlocks, "decode", lambda *args: calls.append(1) or decode(*args))
    ids, mask = padded_batch(99, batch=1, length=6)
    out = model.generate(ids, attention_mask=mask, decoder_start_token_id=1, pad_token_id=0, eos_token_id=None,
                         max_new_tokens=4)
    assert out.shape == (1, 5) and calls == []
