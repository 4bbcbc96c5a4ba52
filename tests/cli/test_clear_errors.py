"""Bad input to the CLI ends in one line on stderr naming the file or flag, exit code 2, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli


def assert_one_line(done: subprocess.CompletedProcess, command: str, *expected: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"warmseq {command}: error: "), done.stderr
    assert "Traceback" not in done.stderr
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.fixture()
def model_copy(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


@pytest.mark.parametrize("content", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json", b"junk" * 50])
def test_inspect_on_a_broken_safetensors_file_is_one_line(model_copy: Path, content: bytes) -> None:
    (model_copy / "model.safetensors").write_bytes(content)
    done = run_cli("inspect", str(model_copy), check=False)
    assert_one_line(done, "inspect", str(model_copy / "model.safetensors"), "not a readable safetensors file")


def test_corrupt_tokenizer_json_is_named(model_copy: Path) -> None:
    path = model_copy / "tokenizer.json"
    path.write_bytes(path.read_bytes()[:2000])
    done = run_cli("generate", str(model_copy), "some text", check=False)
    assert_one_line(done, "generate", str(path), "not a readable tokenizer.json")


@pytest.mark.parametrize("device", ["potato", "cuda:7", "cuda"])
@pytest.mark.parametrize("command", ["generate", "evaluate"])
def test_bad_device_is_one_line(model_dir: Path, data_file: Path, command: str, device: str) -> None:
    args = [str(model_dir), "text"] if command == "generate" else [str(model_dir), "--data", str(data_file)]
    done = run_cli(command, *args, "--device", device, check=False)  # run_cli hides every CUDA device
    assert_one_line(done, command, "--device", device)


def test_bad_device_on_train_is_one_line(pretrained_pair: tuple[Path, Path], data_file: Path, tmp_path) -> None:
    encoder, decoder = map(str, pretrained_pair)
    done = run_cli("train", "--encoder", encoder, "--decoder", decoder, "--train", str(data_file),
                   "--output-dir", str(tmp_path / "run"), "--device", "potato", check=False)
    assert_one_line(done, "train", "--device 'potato' is not a device")


def test_evaluate_negative_batch_size_is_one_line(model_dir: Path, data_file: Path) -> None:
    done = run_cli("evaluate", str(model_dir), "--data", str(data_file), "--batch-size", "-1", check=False)
    assert_one_line(done, "evaluate", "--batch-size must be >= 1, got -1")


def test_generate_says_how_many_inputs_were_cut(model_dir: Path) -> None:
    long_text = "a package that does many things for many people " * 4
    done = run_cli("generate", str(model_dir), long_text, "short", "--max-source-length", "8",
                   "--max-new-tokens", "2")
    assert "1 of 2 input(s) were longer than 8 tokens and were cut to 8" in done.stderr


def test_generate_says_nothing_when_nothing_was_cut(model_dir: Path) -> None:
    done = run_cli("generate", str(model_dir), "short", "--max-new-tokens", "2")
    assert "were cut" not in done.stderr


def test_full_disk_during_train_is_one_line_naming_the_file(
    pretrained_pair: tuple[Path, Path], data_file: Path, tmp_path: Path
) -> None:
    """RLIMIT_FSIZE in the child (SIGXFSZ ignored) makes the checkpoint's weights fail with EFBIG."""
    encoder, decoder = map(str, pretrained_pair)
    run = tmp_path / "run"
    limit = "import resource, signal, runpy, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); " \
            "resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000)); " \
            "sys.argv = ['warmseq', *sys.argv[1:]]; runpy.run_module('warmseq', run_name='__main__')"
    done = subprocess.run(
        [sys.executable, "-c", limit, "train", "--encoder", encoder, "--decoder", decoder, "--train", str(data_file),
         "--output-dir", str(run), "--max-steps", "1", "--batch-size", "4", "--max-source-length", "32",
         "--max-target-length", "8", "--no-show-progress"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""},
    )  # fmt: skip
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1 and errors[0].startswith("warmseq train: error: could not write "), done.stderr
    assert "model.safetensors" in errors[0] and "File too large" in errors[0]
    assert "Traceback" not in done.stderr
    assert not list(run.glob("checkpoint-*"))
