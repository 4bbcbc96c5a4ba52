"""NumPy arrays in and out of weight files, for the JAX and TensorFlow ports: the same files, names and
"pt" metadata as the PyTorch side (`layout.py` shares everything but reading and writing one file), so
the PyTorch classes and transformers read what the ports write. No tensor library is imported here."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from warmseq.checkpoints.layout import checked_reader, read_weights, write_weights


def load_arrays(name_or_path: str | os.PathLike,
                read_bin: Callable[[Path], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """All arrays of a model folder or Hub id, safetensors (single or sharded) preferred; a legacy
    pytorch_model.bin goes to `read_bin`, which reads it or raises to say why not."""
    return read_weights(name_or_path, read_safetensors, read_bin)


read_safetensors = checked_reader(load_file)  # Path -> {name: np.ndarray}


def save_arrays(arrays: dict[str, np.ndarray], folder: Path, max_shard_size: int | str = "5GB") -> None:
    """Write model.safetensors, or shards plus model.safetensors.index.json above `max_shard_size`."""
    contiguous = {key: np.ascontiguousarray(array) for key, array in arrays.items()}
    write_weights(contiguous, folder, max_shard_size, write_safetensors, lambda array: array.nbytes)


def write_safetensors(path: Path, arrays: dict[str, np.ndarray]) -> None:
    save_file(arrays, path, metadata={"format": "pt"})
