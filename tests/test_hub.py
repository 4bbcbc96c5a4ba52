"""Hub ids resolve offline from the Hub cache (a real cache layout, read by huggingface_hub)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

MODEL_FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "tokenizer_config.json")


def fill_hub_cache(cache, repo_id: str, source) -> None:
    """The layout huggingface_hub writes when it downloads: refs/main -> snapshots/<commit>/files."""
    commit = "0" * 40
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name in MODEL_FILES:
        shutil.copy(source / name, snapshot / name)


REPO = "sentence-transformers/all-MiniLM-L6-v2"
# what a script prints when a name is neither a folder nor cached: one line, after its other output
TRY_UNCACHED = (
    "try:\n"
    "    {call}('sentence-transformers/not-cached')\n"
    "except FileNotFoundError as err:\n"
    "    print('error:', err)\n"
)


def run_offline(script: str, cache) -> list[str]:
    """stdout lines of `script` run in a fresh process, offline, with `cache` as the Hub cache."""
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_hub_id_loads_offline_from_the_cache(tmp_path, minilm_dir):
    fill_hub_cache(tmp_path / "hub", REPO, minilm_dir)
    script = (
        "import warmseq\n"
        f"m = warmseq.EncoderDecoderModel.from_encoder_decoder_pretrained({REPO!r}, {REPO!r})\n"
        "print(m.encoder.config.hidden_size, m.decoder.config.is_decoder)\n"
    ) + TRY_UNCACHED.format(call="warmseq.AutoConfig.from_pretrained")
    lines = run_offline(script, tmp_path / "hub")
    assert lines[0] == "384 True"
    expected = "'sentence-transformers/not-cached' is not a local folder and config.json is not in the Hub cache"
    assert expected in lines[1]


def test_tokenizers_take_the_same_hub_ids_as_the_models(tmp_path, minilm_dir):
    fill_hub_cache(tmp_path / "hub", REPO, minilm_dir)
    script = (
        "import warmseq\n"
        "from warmseq.training.model_loading import load_tokenizers\n"
        f"auto = warmseq.AutoTokenizer.from_pretrained({REPO!r})\n"
        f"bert = warmseq.BertTokenizer.from_pretrained({REPO!r})\n"
        f"source, target = load_tokenizers({REPO!r}, {REPO!r})\n"
        "print(type(auto).__name__, auto.cls_token_id, bert('hello world')['input_ids'], source is target)\n"
    ) + TRY_UNCACHED.format(call="warmseq.AutoTokenizer.from_pretrained")
    lines = run_offline(script, tmp_path / "hub")
    assert lines[0] == "BertTokenizer 101 [101, 7592, 2088, 102] True"
    assert "'sentence-transformers/not-cached' is not a local folder" in lines[1]
