"""Optimizer and random-generator state as safetensors plus JSON (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from warmseq.json_files import read_json_object

OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_JSON = "optimizer.json"
RNG_TENSORS = "rng_state.safetensors"
TUPLE_GROUP_KEYS = ("betas",)


def save_optimizer_state(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    """Write tensors as `state.<param index>.<name>` and the rest (param groups, scalars) as JSON."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_index, param_state in state_dict["state"].items():
        for name, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{param_index}.{name}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars.setdefault(str(param_index), {})[name] = value
    save_file(tensors, str(folder / OPTIMIZER_TENSORS))
    description = {"param_groups": state_dict["param_groups"], "scalar_state": scalars}
    (folder / OPTIMIZER_JSON).write_text(json.dumps(description, indent=1), encoding="utf-8")


def load_optimizer_state(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    for name in (OPTIMIZER_TENSORS, OPTIMIZER_JSON):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"checkpoint {folder}: {name} is missing; cannot restore the optimizer")
    description = read_json_object(folder / OPTIMIZER_JSON, "an optimizer state description")
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in load_file(str(folder / OPTIMIZER_TENSORS)).items():
        _, param_index, name = key.split(".", 2)
        state.setdefault(int(param_index), {})[name] = tensor
    for param_index, values in description["scalar_state"].items():
        state.setdefault(int(param_index), {}).update(values)
    groups = description["param_groups"]
    for group in groups:
        for key in TUPLE_GROUP_KEYS:
            if isinstance(group.get(key), list):
                group[key] = tuple(group[key])
    expected = [len(group["params"]) for group in optimizer.state_dict()["param_groups"]]
    found = [len(group["params"]) for group in groups]
    if expected != found:
        raise ValueError(
            f"checkpoint {folder}: {OPTIMIZER_JSON} has parameter groups of sizes {found}, "
            f"the model's optimizer expects {expected}; was it saved from a different model?"
        )
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def rng_state(device: torch.device) -> torch.Tensor:
    """This process's torch generator state (CPU, and the current CUDA device if used) as one uint8 tensor."""
    parts = [torch.get_rng_state()]
    if device.type == "cuda":
        parts.append(torch.cuda.get_rng_state(device))
    return torch.cat(parts)


def restore_rng_state(state: torch.Tensor, device: torch.device) -> None:
    cpu_size = torch.get_rng_state().numel()
    torch.set_rng_state(state[:cpu_size].clone())
    if device.type == "cuda":
        torch.cuda.set_rng_state(state[cpu_size:].clone(), device)


def save_rng_states(states: list[torch.Tensor], folder: Path) -> None:
    """One generator state per rank, as `rank.<r>`."""
    save_file(
        {f"rank.{rank}": state.cpu().contiguous() for rank, state in enumerate(states)},
        str(folder / RNG_TENSORS),
    )


def load_rng_state(folder: Path, rank: int) -> torch.Tensor | None:
    """The saved generator state of `rank`, or None when the checkpoint has none for it."""
    path = folder / RNG_TENSORS
    if not path.is_file():
        return None
    return load_file(str(path)).get(f"rank.{rank}")
