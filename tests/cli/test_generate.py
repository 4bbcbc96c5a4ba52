"""`warmseq generate` end to end through `python -m warmseq` on a tiny random bert2bert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

TEXTS = ["a small tool to list files", "library for parsing YAML documents quickly and safely in C", "fonts"]
GREEDY = ("--max-new-tokens", "6")


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_text_arguments_give_one_jsonl_line_each_in_input_order(model_dir: Path) -> None:
    done = run_cli("generate", str(model_dir), *TEXTS, *GREEDY, "--batch-size", "2")
    records = jsonl(done.stdout)
    assert [r["input"] for r in records] == TEXTS
    assert all(isinstance(r["output"], str) and r["output"] for r in records)
    one_at_a_time = jsonl(run_cli("generate", str(model_dir), *TEXTS, *GREEDY, "--batch-size", "1").stdout)
    assert one_at_a_time == records  # length-sorted batching puts outputs back in input order


def test_file_stdin_and_output_file_agree(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "inputs.txt"
    source.write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")  # blank lines are skipped
    out = tmp_path / "out.jsonl"
    from_file = run_cli("generate", str(model_dir), "--file", str(source), "--output", str(out), *GREEDY)
    assert from_file.stdout == ""
    written = jsonl(out.read_text(encoding="utf-8"))
    assert [r["input"] for r in written] == TEXTS
    from_stdin = run_cli("generate", str(model_dir), *GREEDY, stdin="\n".join(TEXTS) + "\n")
    assert jsonl(from_stdin.stdout) == written
    as_jsonl = tmp_path / "inputs.jsonl"
    as_jsonl.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    assert jsonl(run_cli("generate", str(model_dir), "--file", str(as_jsonl), *GREEDY).stdout) == written


def test_streaming_prints_the_same_text_as_greedy_generation(model_dir: Path) -> None:
    expected = jsonl(run_cli("generate", str(model_dir), TEXTS[1], "--max-new-tokens", "12").stdout)[0]["output"]
    streamed = run_cli("generate", str(model_dir), TEXTS[1], "--max-new-tokens", "12", "--stream").stdout
    assert streamed == expected + "\n"


def test_beam_search_and_seeded_sampling_run(model_dir: Path) -> None:
    beams = jsonl(
        run_cli(
            "generate",
            str(model_dir),
            *TEXTS,
            *GREEDY,
            "--num-beams",
            "3",
            "--no-repeat-ngram-size",
            "2",
            "--length-penalty",
            "0.8",
        ).stdout
    )
    assert len(beams) == 3
    sample = ("--do-sample", "--top-k", "20", "--top-p", "0.9", "--temperature", "1.5", "--seed", "7", *GREEDY)
    first = run_cli("generate", str(model_dir), *TEXTS, *sample).stdout
    assert first == run_cli("generate", str(model_dir), *TEXTS, *sample).stdout  # same seed, same text


def assert_user_error(done, message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("warmseq generate: error: ") and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_user_errors_are_one_line_with_exit_code_2(model_dir: Path, tmp_path: Path) -> None:
    assert_user_error(run_cli("generate", str(tmp_path / "missing"), "hi", check=False), "does not exist")
    missing_file = run_cli("generate", str(model_dir), "--file", str(tmp_path / "nope.txt"), check=False)
    assert_user_error(missing_file, "nope.txt: no such file")
    assert_user_error(run_cli("generate", str(model_dir), stdin="", check=False), "no input: stdin holds no")
    assert_user_error(run_cli("generate", str(model_dir), "a", "b", "--stream", check=False), "exactly one input")


@pytest.mark.slow
def test_more_input_errors(model_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    cases = {
        (str(model_dir), "   "): "no input: the TEXT arguments hold no non-blank text",
        (str(model_dir), "hi", "--batch-size", "0"): "--batch-size must be >= 1",
        (str(model_dir), "--file", str(empty)): "holds no non-blank text",
        (str(model_dir), "--file", str(binary)): "cannot be read as UTF-8 text",
        (str(model_dir), "hi", "--num-beams", "2", "--stream"): "stream",
    }
    for args, message in cases.items():
        assert_user_error(run_cli("generate", *args, check=False), message)
