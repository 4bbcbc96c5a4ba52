"""What killed saves leave behind (temporaries of our naming, shards no index names) goes at the next save;
files of other names stay."""

from __future__ import annotations

import json

from tests.robustness.tiny_checkpoint import save_tiny_pair, tiny_pair


def test_next_save_removes_stale_temporaries_and_orphan_shards(tmp_path):
    folder = tmp_path / "pair"
    save_tiny_pair(folder)
    left_behind = [
        ".model.safetensors.k2j4h5g6.tmp",
        ".config.json.a_b3c4d5.tmp",
        ".model-00001-of-00003-1a2b3c4d.safetensors.zz99yy88.tmp",
        "model-00002-of-00003-1a2b3c4d.safetensors",
    ]
    kept = ["notes.tmp", ".hidden", "README.md", "model.safetensors.bak"]
    for name in left_behind + kept:
        (folder / name).write_bytes(b"x")
    tiny_pair(seed=1).save_pretrained(folder, max_shard_size="80KB")
    names = {p.name for p in folder.iterdir()}
    assert not names & set(left_behind)
    assert set(kept) <= names
    shards = set(json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"].values())
    weights = {n for n in names if n.startswith("model") and n.endswith(".safetensors")}
    assert weights == shards and len(shards) == 3


def test_sharded_save_over_a_sharded_save_never_reuses_a_shard_name(tmp_path):
    folder = tmp_path / "pair"
    save_tiny_pair(folder, max_shard_size="80KB")
    index = folder / "model.safetensors.index.json"
    first = set(json.loads(index.read_text())["weight_map"].values())
    tiny_pair(seed=1).save_pretrained(folder, max_shard_size="80KB")
    second = set(json.loads(index.read_text())["weight_map"].values())
    assert len(first) == len(second) == 3 and not first & second
    assert {p.name for p in folder.glob("model-*")} == second
