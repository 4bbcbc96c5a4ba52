"""Two processes saving into one folder at once (every rank of a job calling save_pretrained) take turns:
the folder ends holding one complete checkpoint, never shards of one save under another's index."""

from __future__ import annotations

import subprocess
import sys

import warmseq

SAVE_REPEATEDLY = r"""
import sys
sys.path.insert(0, sys.argv[3])
from tests.robustness.tiny_checkpoint import tiny_pair
model = tiny_pair(seed=int(sys.argv[2]))
for _ in range(25):
    model.save_pretrained(sys.argv[1], max_shard_size="60KB")
"""


def test_concurrent_sharded_saves_leave_one_complete_checkpoint(tmp_path):
    folder = tmp_path / "pair"
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    savers = [subprocess.Popen([sys.executable, "-c", SAVE_REPEATEDLY, str(folder), str(seed), root],
                               stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    errors = [saver.communicate(timeout=600)[1] for saver in savers]
    assert [saver.returncode for saver in savers] == [0, 0], errors
    loaded, info = warmseq.EncoderDecoderModel.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    weights = sorted(p.name for p in folder.iterdir() if p.name.startswith("model"))
    assert "model.safetensors.index.json" in weights and len(weights) > 2
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


SAVE_TOKENIZER_REPEATEDLY = r"""
import sys
from warmseq import AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(sys.argv[2])
for _ in range(60):
    tokenizer.save_pretrained(sys.argv[1])
"""


def test_a_tokenizer_saved_beside_a_saving_model_survives(tmp_path, minilm_dir):
    """The model's save removes temporaries it takes for a killed save's; the tokenizer's live ones wait."""
    folder = tmp_path / "pair"
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    commands = [[sys.executable, "-c", SAVE_REPEATEDLY, str(folder), "1", root],
                [sys.executable, "-c", SAVE_TOKENIZER_REPEATEDLY, str(folder), str(minilm_dir)]]
    savers = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for command in commands]
    errors = [saver.communicate(timeout=600)[1] for saver in savers]
    assert [saver.returncode for saver in savers] == [0, 0], errors
    assert warmseq.AutoTokenizer.from_pretrained(folder).vocab_size == 30522
