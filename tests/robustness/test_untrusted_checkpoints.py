"""A downloaded checkpoint folder is untrusted: nothing outside it is read, nothing broken loads silently."""

from __future__ import annotations

import json
import logging
import os

import pytest
import torch
from safetensors.torch import load_file, save_file

import warmseq
from tests.robustness.tiny_checkpoint import safetensors_bytes, save_tiny_pair


@pytest.fixture()
def sharded(tmp_path):
    folder = tmp_path / "pair"
    save_tiny_pair(folder, max_shard_size="20KB")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    return folder


def rewrite_index(folder, change):
    path = folder / "model.safetensors.index.json"
    index = json.loads(path.read_text())
    key = sorted(index["weight_map"])[0]
    shard = index["weight_map"][key]
    new_name = change(folder, shard)
    for name, value in index["weight_map"].items():  # every tensor of that shard, so it is really gone
        if value == shard:
            index["weight_map"][name] = new_name
    path.write_text(json.dumps(index))
    return key


def move_outside(folder, shard, name):
    """Move a real shard out of the folder (so that following the entry would load fine) and return `name`."""
    outside = folder.parent / "elsewhere"
    outside.mkdir(exist_ok=True)
    os.replace(folder / shard, outside / "x.safetensors")
    return name(outside / "x.safetensors")


@pytest.mark.parametrize("entry", ["relative", "absolute", "subfolder"])
def test_shard_entry_outside_the_folder_is_refused(sharded, entry):
    names = {
        "relative": lambda path: "../elsewhere/x.safetensors",
        "absolute": lambda path: str(path),
        "subfolder": lambda path: "sub/x.safetensors",
    }
    key = rewrite_index(sharded, lambda folder, shard: move_outside(folder, shard, names[entry]))
    if entry == "subfolder":
        (sharded / "sub").mkdir()
        os.replace(sharded.parent / "elsewhere" / "x.safetensors", sharded / "sub" / "x.safetensors")
    with pytest.raises(ValueError, match=rf"index\.json: entry '{key}' names shard .*plain file name"):
        warmseq.EncoderDecoderModel.from_pretrained(sharded)


def test_shard_symlink_leaving_the_folder_is_refused(sharded):
    def link_outside(folder, shard):
        target = move_outside(folder, shard, lambda path: path)
        (folder / "link.safetensors").symlink_to(target)
        return "link.safetensors"

    key = rewrite_index(sharded, link_outside)
    with pytest.raises(ValueError, match=r"index\.json: shard 'link\.safetensors' is a link to .*outside"):
        warmseq.EncoderDecoderModel.from_pretrained(sharded)
    assert key


def test_shard_symlink_inside_the_folder_loads(sharded):
    def link_inside(folder, shard):
        os.replace(folder / shard, folder / "real.safetensors.data")
        (folder / shard).symlink_to(folder / "real.safetensors.data")
        return shard

    rewrite_index(sharded, link_inside)
    warmseq.EncoderDecoderModel.from_pretrained(sharded)


def test_inspect_refuses_an_outside_shard_too(sharded):
    rewrite_index(sharded, lambda folder, shard: move_outside(folder, shard, lambda p: "../elsewhere/x.safetensors"))
    from warmseq.inspect import describe_checkpoint

    with pytest.raises(ValueError, match=r"plain file name"):
        describe_checkpoint(sharded)


def test_duplicate_tensor_name_in_header_is_refused(tmp_path):
    # Two entries named "w": the safetensors library keeps the last, here 4 bytes read as int32.
    header = (b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
              b'"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}')
    path = tmp_path / "model.safetensors"
    path.write_bytes(safetensors_bytes(header, b"\x00\x00\x80\x3f"))
    assert load_file(path)["w"].dtype == torch.int32  # what the library alone does
    from warmseq.checkpoints.files import read_safetensors

    with pytest.raises(ValueError, match=r"model\.safetensors .*lists tensor w more than once"):
        read_safetensors(path)


def test_duplicate_in_a_saved_pair_is_refused_by_from_pretrained(tmp_path):
    folder = tmp_path / "pair"
    save_tiny_pair(folder)
    path = folder / "model.safetensors"
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    key = next(k for k in header if k != "__metadata__")
    text = raw[8 : 8 + size].decode()
    entry = json.dumps({key: header[key]}, separators=(",", ":"))[1:-1]
    doubled = text.replace("{", "{" + entry + ",", 1).encode()
    path.write_bytes(safetensors_bytes(doubled, raw[8 + size :]))
    with pytest.raises(ValueError, match=rf"model\.safetensors .*lists tensor {key} more than once"):
        warmseq.EncoderDecoderModel.from_pretrained(folder)


def replace_tensor(folder, change):
    path = folder / "model.safetensors"
    tensors = load_file(path)
    key = "encoder.encoder.layer.0.attention.self.query.weight"
    assert key in tensors
    tensors[key] = change(tensors[key])
    save_file(tensors, path, metadata={"format": "pt"})
    return key


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.uint8])
def test_non_float_weight_is_refused_naming_key_and_dtype(tmp_path, dtype):
    folder = tmp_path / "pair"
    save_tiny_pair(folder)
    key = replace_tensor(folder, lambda t: (t * 100).to(dtype))
    name = str(dtype).removeprefix("torch.")
    with pytest.raises(ValueError, match=rf"weight '{key}' has dtype {name}; expected a float type"):
        warmseq.EncoderDecoderModel.from_pretrained(folder)


def test_int64_position_ids_buffer_still_loads(tmp_path):
    folder = tmp_path / "pair"
    save_tiny_pair(folder)
    path = folder / "model.safetensors"
    tensors = load_file(path)
    tensors["encoder.embeddings.position_ids"] = torch.arange(64).unsqueeze(0)
    save_file(tensors, path, metadata={"format": "pt"})
    warmseq.EncoderDecoderModel.from_pretrained(folder)


def test_nan_and_inf_weights_warn_at_load_naming_keys(tmp_path, caplog):
    folder = tmp_path / "pair"
    save_tiny_pair(folder)

    def poison(t):
        t = t.clone()
        t[0, 0] = float("nan")
        t[1, 1] = float("inf")
        return t

    key = replace_tensor(folder, poison)
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        warmseq.EncoderDecoderModel.from_pretrained(folder)
    warnings = [r.getMessage() for r in caplog.records if "NaN or infinite" in r.getMessage()]
    assert len(warnings) == 1 and key in warnings[0] and "1 weight(s)" in warnings[0]


def test_clean_load_warns_nothing_about_values(tmp_path, caplog):
    folder = tmp_path / "pair"
    save_tiny_pair(folder)
    with caplog.at_level(logging.WARNING, logger="warmseq"):
        warmseq.EncoderDecoderModel.from_pretrained(folder)
    assert not [r for r in caplog.records if "NaN" in r.getMessage()]
