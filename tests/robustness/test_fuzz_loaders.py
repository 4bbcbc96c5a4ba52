"""Seeded random mutations of a valid model.safetensors, config.json and tokenizer.json fed to the loaders.

Every case must end in a clear error (a ValueError or OSError whose message names the file or its folder)
or a correct load: the weights that loaded are exactly what the mutated file holds (or, for a mutated
config, the original weights), and anything not loaded is reported. Never another exception type, never a
hang (each case runs under an alarm), never garbage loaded silently.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

import warmseq
from tests.robustness.tiny_checkpoint import save_tiny_pair

SEED = int(os.environ.get("WARMSEQ_FUZZ_SEED", "1234"))
CASES = {"safetensors": 300, "config": 300, "tokenizer": 100}
CASE_SECONDS = 20
PUNCTUATION = b'"{}[],:-.0123456789eE \x00\xff\\'


class CaseTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"case ran over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def mutate(data: bytes, rng: random.Random, region: tuple[int, int] | None = None) -> bytes:
    """One random edit: overwrite, delete, duplicate or insert bytes, or truncate; inside `region` if given."""
    start, end = region or (0, len(data))
    position = rng.randrange(start, max(start + 1, end))
    kind = rng.choice(["byte", "punctuation", "delete", "duplicate", "insert", "truncate"])
    if kind == "byte":
        return data[:position] + bytes([rng.randrange(256)]) + data[position + 1 :]
    if kind == "punctuation":
        return data[:position] + bytes([rng.choice(PUNCTUATION)]) + data[position + 1 :]
    length = rng.randint(1, 16)
    if kind == "delete":
        return data[:position] + data[position + length :]
    if kind == "duplicate":
        return data[:position] + data[position : position + length] * 2 + data[position + length :]
    if kind == "insert":
        return data[:position] + bytes(rng.choice(PUNCTUATION) for _ in range(length)) + data[position:]
    return data[:position]


def is_clear_error(error: BaseException, names: tuple[str, ...]) -> bool:
    return isinstance(error, (ValueError, OSError)) and any(name in str(error) for name in names)


def run_cases(kind: str, prepare: Callable[[random.Random, int], Path], check: Callable[[Path], None]) -> dict:
    """Run CASES[kind] cases; return counts of outcomes, failing the test on the first bad one."""
    rng = random.Random(f"{SEED}-{kind}")
    outcomes = {"error": 0, "load": 0}
    for number in range(CASES[kind]):
        folder = prepare(rng, number)
        try:
            with time_limit(CASE_SECONDS):
                check(folder)
            outcomes["load"] += 1
        except AssertionError:
            raise
        except BaseException as error:  # every other outcome must be a clear error
            if not is_clear_error(error, (str(folder),)):
                pytest.fail(f"{kind} case {number}: {type(error).__name__}: {str(error)[:500]}")
            outcomes["error"] += 1
        shutil.rmtree(folder)
    return outcomes


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("fuzz") / "pair"
    model = save_tiny_pair(folder)
    return folder, model.checkpoint_state()


def copy_with(original: Path, tmp: Path, number: int, name: str, data: bytes) -> Path:
    folder = Path(shutil.copytree(original, tmp / f"case-{number}"))
    (folder / name).write_bytes(data)
    return folder


def file_tensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors a safetensors file holds, read here with json and numpy alone (the oracle)."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    header.pop("__metadata__", None)
    data = raw[8 + size :]
    return {key: np.frombuffer(data[e["data_offsets"][0] : e["data_offsets"][1]], dtype=np.float32).reshape(e["shape"])
            for key, e in header.items()}


def test_fuzzed_safetensors(original, tmp_path):
    folder, _ = original
    data = (folder / "model.safetensors").read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")

    def prepare(rng: random.Random, number: int) -> Path:
        mutated = data
        for _ in range(rng.randint(1, 3)):  # mostly the header, where parsing happens; sometimes anywhere
            region = (0, header_end) if rng.random() < 0.8 else None
            mutated = mutate(mutated, rng, region)
        return copy_with(folder, tmp_path, number, "model.safetensors", mutated)

    def check(case: Path) -> None:
        model, report = warmseq.EncoderDecoderModel.from_pretrained(case, output_loading_info=True)
        expected = file_tensors(case / "model.safetensors")
        loaded = model.checkpoint_state()
        for key, tensor in loaded.items():
            if key in report["missing_keys"]:
                continue  # newly initialised, and the load said so
            assert key in expected, f"{case}: {key} neither in the file nor reported missing"
            assert np.array_equal(tensor.numpy(), expected[key], equal_nan=True), f"{case}: {key} differs"

    outcomes = run_cases("safetensors", prepare, check)
    assert outcomes["error"] > 0 and outcomes["load"] > 0, outcomes


def test_fuzzed_config(original, tmp_path):
    folder, weights = original
    text = (folder / "config.json").read_bytes()

    def prepare(rng: random.Random, number: int) -> Path:
        mutated = text
        for _ in range(rng.randint(1, 2)):
            mutated = mutate(mutated, rng)
        return copy_with(folder, tmp_path, number, "config.json", mutated)

    def check(case: Path) -> None:
        model, report = warmseq.EncoderDecoderModel.from_pretrained(case, output_loading_info=True)
        for key, tensor in model.checkpoint_state().items():
            if key in weights and key not in report["missing_keys"]:
                assert torch.equal(tensor, weights[key]), f"{case}: {key} differs from the saved weight"

    outcomes = run_cases("config", prepare, check)
    assert outcomes["error"] > 0 and outcomes["load"] > 0, outcomes


def test_fuzzed_tokenizer_json(minilm_dir, tmp_path):
    source = tmp_path / "tokenizer"
    source.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(minilm_dir / name, source / name)
    text = (source / "tokenizer.json").read_bytes()
    vocab_at = text.index(b'"vocab"')
    sample = "A fuzzed tokenizer still reads plain text: 42 packages."

    def prepare(rng: random.Random, number: int) -> Path:
        # the pipeline's settings come before the vocabulary: mutate there mostly
        region = (0, vocab_at + 200) if rng.random() < 0.8 else None
        return copy_with(source, tmp_path, number, "tokenizer.json", mutate(text, rng, region))

    def check(case: Path) -> None:
        tokenizer = warmseq.AutoTokenizer.from_pretrained(case)
        ids = tokenizer(sample)["input_ids"]
        assert all(isinstance(i, int) and 0 <= i < len(tokenizer) for i in ids), ids
        tokenizer.decode(ids)

    outcomes = run_cases("tokenizer", prepare, check)
    assert outcomes["error"] > 0 and outcomes["load"] > 0, outcomes
