"""Every bad input gets an error that names the thing and what was expected."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor

from warmseq.generation import GenerationConfig, generate_tokens

VOCAB = 11


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(num_beams=0), "num_beams must be an integer >= 1, got 0"),
        (dict(num_beams=-2), "num_beams must be an integer >= 1, got -2"),
        (dict(num_beams=2, num_return_sequences=3), "num_return_sequences=3 is larger than num_beams=2"),
        (dict(num_return_sequences=2), "greedy search returns one sequence per source"),
        (dict(num_return_sequences=0, do_sample=True), "num_return_sequences must be an integer >= 1"),
        (dict(do_sample=True, temperature=0.0), "temperature must be > 0 when sampling, got 0.0"),
        (dict(do_sample=True, temperature=-1.0), "temperature must be > 0 when sampling"),
        (dict(do_sample=True, top_p=0.0), r"top_p must be in \(0, 1\] when sampling, got 0.0"),
        (dict(do_sample=True, top_p=1.5), r"top_p must be in \(0, 1\] when sampling, got 1.5"),
        (dict(top_k=-1), "top_k must be an integer >= 0"),
        (dict(early_stopping="sometimes"), "early_stopping must be True, False or 'never', got 'sometimes'"),
        (dict(max_new_tokens=0), "max_new_tokens must be a positive integer"),
        (dict(min_length=-1), "min_length must be an integer >= 0"),
        (dict(no_repeat_ngram_size=-3), "no_repeat_ngram_size must be an integer >= 0"),
        (dict(repetition_penalty=0.0), "repetition_penalty must be > 0"),
        (dict(eos_token_id=[2, -1]), "eos_token_id must be a token id or a list of them"),
        (dict(pad_token_id=-1), "pad_token_id must be a token id"),
        (dict(bad_words_ids=[[]]), "bad_words_ids must be a non-empty list of non-empty lists"),
        (dict(bad_words_ids=[3]), "bad_words_ids must be a non-empty list of non-empty lists"),
    ],
)
def test_config_rejects(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GenerationConfig(**kwargs)
    with pytest.raises(ValueError, match=message):
        GenerationConfig().update(**kwargs)


def test_update_names_unknown_field_and_suggests_closest() -> None:
    with pytest.raises(ValueError, match="no field 'num_beam'; did you mean 'num_beams'"):
        GenerationConfig().update(num_beam=4)
    with pytest.raises(ValueError, match="no field 'zzz'$"):
        GenerationConfig().update(zzz=1)


def constant_step(logits_row: Tensor) -> Any:
    def step(tokens: Tensor, cache: Any) -> tuple[Tensor, Any]:
        return logits_row.expand(tokens.shape[0], -1).clone(), cache

    return step


def run(config: GenerationConfig, prompt: Tensor | None = None, step: Any = None, max_positions: int | None = 16):
    prompt = torch.ones(2, 1, dtype=torch.long) if prompt is None else prompt
    step = step or constant_step(torch.arange(VOCAB, dtype=torch.float32))
    return generate_tokens(step, lambda c, i: c, lambda r, n: None, prompt, config, max_positions=max_positions)


def test_max_new_tokens_past_max_positions_names_both_numbers() -> None:
    with pytest.raises(ValueError, match=r"max_new_tokens=40 .* needs 41 .* max_positions=16"):
        run(GenerationConfig(max_new_tokens=40))
    with pytest.raises(ValueError, match=r"max_length=17 needs 17 .* max_positions=16"):
        run(GenerationConfig(max_length=17))


def test_default_length_is_cut_to_max_positions() -> None:
    assert run(GenerationConfig(), max_positions=8).sequences.shape == (2, 8)
    assert run(GenerationConfig(), max_positions=None).sequences.shape == (2, 21)


def test_prompt_filling_max_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="decoder prompt has 3 tokens, but max_length is 3"):
        run(GenerationConfig(max_length=3), prompt=torch.ones(1, 3, dtype=torch.long))


@pytest.mark.parametrize(
    "prompt,message",
    [
        (torch.ones(0, 1, dtype=torch.long), "batch size 0"),
        (torch.ones(2, 0, dtype=torch.long), "decoder_prompt is empty"),
        (torch.ones(3, dtype=torch.long), "must be a 2-D tensor"),
        (torch.ones(2, 1), "must hold int64 token ids"),
    ],
)
def test_bad_prompt(prompt: Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run(GenerationConfig(max_new_tokens=3), prompt=prompt)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize(
    "kwargs", [dict(), dict(repetition_penalty=1.2), dict(do_sample=True), dict(num_beams=2)], ids=str
)
def test_non_finite_logits_name_the_step(bad: float, kwargs: dict[str, Any]) -> None:
    calls = []

    def step(tokens: Tensor, cache: Any) -> tuple[Tensor, Any]:
        calls.append(1)
        logits = torch.zeros(tokens.shape[0], VOCAB)
        if len(calls) == 3:
            logits[1, 4] = bad
        return logits, cache

    with pytest.raises(RuntimeError, match=r"generation step 3: .*NaN or infinite.*rows \[1\]"):
        run(GenerationConfig(max_new_tokens=5, **kwargs), step=step)


def test_all_minus_inf_logits_are_rejected() -> None:
    step = constant_step(torch.full((VOCAB,), -float("inf")))
    with pytest.raises(RuntimeError, match="generation step 1"):
        run(GenerationConfig(max_new_tokens=5), step=step)


def test_bad_word_outside_vocabulary() -> None:
    with pytest.raises(ValueError, match=r"bad_words_ids holds ids \[50\] outside the vocabulary of 11"):
        run(GenerationConfig(max_new_tokens=3, bad_words_ids=[[50]]))
