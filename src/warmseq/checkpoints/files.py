"""PyTorch tensors in and out of weight files: model.safetensors (single or sharded) and legacy
pytorch_model.bin. Which files, and how a save replaces an earlier one: `layout.py`."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from warmseq.checkpoints.layout import checked_reader, read_weights, write_weights


def load_state_dict(name_or_path: str | os.PathLike) -> dict[str, Tensor]:
    """All tensors of a model folder or Hub id, preferring safetensors over pickled .bin files."""
    return read_weights(name_or_path, read_safetensors, read_bin)


read_safetensors = checked_reader(load_file)  # Path -> {name: Tensor}


def read_bin(path: Path) -> dict[str, Tensor]:
    """A pickled state dict, unpickled with `weights_only=True`: tensors only, no code runs."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError or EOFError by case
        raise ValueError(
            f"{path} could not be loaded as plain tensors ({type(err).__name__}: {str(err)[:200]}); "
            "warmseq never runs code found in a pickle. Convert it to model.safetensors with a tool you trust."
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, Tensor) for v in data.values()):
        raise ValueError(f"{path} does not hold a flat dict of tensors")
    return data


def save_state_dict(state: dict[str, Tensor], folder: Path, max_shard_size: int | str = "5GB") -> None:
    """Write `state` as model.safetensors, or as shards plus an index when it exceeds `max_shard_size`
    (`layout.write_weights`: the folder never holds a mix of two saves)."""
    tensors = copy_shared_tensors({k: v.detach().contiguous().cpu() for k, v in state.items()})
    write_weights(tensors, folder, max_shard_size, write_safetensors, lambda t: t.numel() * t.element_size())


def write_safetensors(path: Path, tensors: dict[str, Tensor]) -> None:
    save_file(tensors, path, metadata={"format": "pt"})


def copy_shared_tensors(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Give every key its own storage: safetensors refuses tensors that share memory, and a tied
    encoder-decoder pair lists each shared weight under both names."""
    seen: set[int] = set()
    out = {}
    for key, tensor in tensors.items():
        out[key] = tensor.clone() if tensor.data_ptr() in seen else tensor
        seen.add(tensor.data_ptr())
    return out
