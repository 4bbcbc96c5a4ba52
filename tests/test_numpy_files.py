"""The NumPy side of the weight files (what the JAX and TensorFlow ports read and write) keeps the PyTorch
side's layout and guarantees: the same files both ways, shard names never reused by a later save, sharded
checkpoints from the Hub cache, whose shards are links into its blob store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from warmseq.checkpoints.files import load_state_dict, save_state_dict
from warmseq.checkpoints.numpy_files import load_arrays, save_arrays


def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"layers.{i}.weight": rng.standard_normal((64, 64)).astype(np.float32) for i in range(6)}


def no_pickles(path):
    raise AssertionError(f"read a pickle: {path}")


@pytest.mark.parametrize("shard_size", ["5GB", "40KB"])
def test_numpy_and_torch_read_each_others_files(tmp_path, shard_size):
    expected = arrays()
    save_arrays(expected, tmp_path / "np", shard_size)
    from_torch = load_state_dict(tmp_path / "np")
    assert sorted(from_torch) == sorted(expected)
    assert all(np.array_equal(from_torch[k].numpy(), v) for k, v in expected.items())
    save_state_dict({k: torch.from_numpy(v) for k, v in expected.items()}, tmp_path / "pt", shard_size)
    from_numpy = load_arrays(tmp_path / "pt", no_pickles)
    assert sorted(from_numpy) == sorted(expected)
    assert all(np.array_equal(from_numpy[k], v) for k, v in expected.items())
    shards = sorted(p.name for p in (tmp_path / "np").glob("model*.safetensors"))
    assert shards == sorted(p.name for p in (tmp_path / "pt").glob("model*.safetensors"))
    assert len(shards) == (1 if shard_size == "5GB" else 3)


def test_sharded_save_over_a_sharded_save_never_reuses_a_shard_name(tmp_path):
    folder = tmp_path / "model"
    save_arrays(arrays(), folder, "40KB")
    (folder / ".model.safetensors.k2j4h5g6.tmp").write_bytes(b"x")  # what a killed save leaves
    index = folder / "model.safetensors.index.json"
    first = set(json.loads(index.read_text())["weight_map"].values())
    save_arrays(arrays(), folder, "40KB")
    second = set(json.loads(index.read_text())["weight_map"].values())
    assert len(first) == len(second) == 3 and not first & second
    assert {p.name for p in folder.iterdir()} == {*second, index.name}


def test_pickled_weights_go_to_the_callers_reader(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match="pytorch_model.bin.*not here"):
        load_arrays(tmp_path, lambda path: (_ for _ in ()).throw(ValueError(f"{path.name} is not here")))


def test_sharded_checkpoint_loads_from_the_hub_cache(tmp_path):
    """huggingface_hub's layout: snapshots/<commit>/<file> are links to blobs/<hash>, outside the snapshot;
    .no_exist/<commit>/model.safetensors records that the Hub had no single file when the shards came."""
    source = tmp_path / "saved"
    save_arrays(arrays(), source, "40KB")
    (source / "config.json").write_text("{}")  # the Hub cache holds a model's config.json beside its weights
    repo = tmp_path / "hub" / "models--someone--sharded"
    commit = "0" * 40
    snapshot, blobs = repo / "snapshots" / commit, repo / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (repo / ".no_exist" / commit).mkdir(parents=True)
    (repo / ".no_exist" / commit / "model.safetensors").touch()
    for number, path in enumerate(sorted(source.iterdir())):
        blob = blobs / f"blob{number}"
        blob.write_bytes(path.read_bytes())
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    script = (
        "from warmseq.checkpoints.numpy_files import load_arrays\n"
        "loaded = load_arrays('someone/sharded', None)\n"
        "print(len(loaded), float(sum(a.sum() for a in loaded.values())))\n"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    count, total = done.stdout.split()
    assert int(count) == 6
    assert float(total) == pytest.approx(float(sum(a.sum() for a in arrays().values())), rel=1e-6)


def test_a_truncated_file_is_named(tmp_path):
    save_arrays(arrays(), tmp_path)
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"model\.safetensors is not a readable safetensors file.*truncated"):
        load_arrays(tmp_path, no_pickles)
