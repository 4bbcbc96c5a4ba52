"""What a checkpoint holds, read from config.json and the safetensors headers: no model is built.

No tensor library is imported: shapes come from the safetensors headers, read by our own parser.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from warmseq.checkpoints.layout import SAFETENSORS_INDEX, SAFETENSORS_NAME
from warmseq.checkpoints.safetensors_header import read_header
from warmseq.checkpoints.shard_index import local_shard_path, read_weight_map
from warmseq.configs.base import CONFIG_NAME, read_config_file
from warmseq.families import BERT_LAYOUT_SIZES, FAMILY_BY_TYPE
from warmseq.hub import resolve_file
from warmseq.json_files import GENERATION_CONFIG_NAME, read_json_object

SPECIAL_IDS = ("decoder_start_token_id", "pad_token_id", "eos_token_id", "bos_token_id")


def describe_checkpoint(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """A summary of a model folder (or Hub id): families, sizes, parameters per part, special ids, tying.

    `parameters` counts the tensors stored in the safetensors files (None for .bin-only checkpoints);
    with `tie_encoder_decoder` the decoder's shared copies are stored too, and `parameters_shared`
    says how many of them the loaded model holds only once."""
    config_path = resolve_file(name_or_path, CONFIG_NAME)
    config = read_config_file(config_path)
    shapes = read_tensor_shapes(name_or_path)
    is_pair = "encoder" in config and "decoder" in config
    if is_pair:
        parts = {"encoder": config["encoder"], "decoder": config["decoder"]}
    else:
        parts = {"model": config}
    info: dict[str, Any] = {
        "path": os.fspath(name_or_path),
        "model_type": config.get("model_type"),
        "architectures": config.get("architectures"),
        "is_encoder_decoder": is_pair,
        "parts": {role: describe_part(part, shapes, f"{role}." if is_pair else "") for role, part in parts.items()},
        "weight_files": sorted({name for name, _ in shapes.values()}) if shapes is not None else [],
        "parameters": count(shapes) if shapes is not None else None,
        "special_ids": special_ids(name_or_path, config),
        "tied": {
            "tie_word_embeddings": (parts.get("decoder") or config).get("tie_word_embeddings", True),
            "tie_encoder_decoder": bool(config.get("tie_encoder_decoder", False)),
        },
    }
    if is_pair and shapes is not None:
        grouped = sum(p["parameters"] or 0 for p in info["parts"].values())
        if info["parameters"] - grouped:
            info["parts"]["other"] = {"parameters": info["parameters"] - grouped}  # enc_to_dec_proj
        if info["tied"]["tie_encoder_decoder"]:
            info["parameters_shared"] = shared_with_encoder(shapes)
    return info


def describe_part(config: dict[str, Any], shapes: dict | None, prefix: str) -> dict[str, Any]:
    """The part's family, its sizes (the config.json fields its family record names; a model type
    warmseq has no record for is read with BERT's field names) and its parameter count."""
    sizes = {label: config[name] for label, name in size_fields(config.get("model_type"))
             if config.get(name) is not None}
    part = {"model_type": config.get("model_type"), **sizes}
    if prefix:
        part["has_cross_attention"] = bool(config.get("add_cross_attention", False))
    if shapes is not None:
        part["parameters"] = count({k: v for k, v in shapes.items() if k.startswith(prefix)})
    return part


def size_fields(model_type: str | None) -> tuple[tuple[str, str], ...]:
    family = FAMILY_BY_TYPE.get(model_type)  # type: ignore[arg-type]
    return family.sizes if family is not None else BERT_LAYOUT_SIZES


def read_tensor_shapes(name_or_path: str | os.PathLike) -> dict[str, tuple[str, list[int]]] | None:
    """Checkpoint key -> (file name, shape) from the safetensors headers (checked as from_pretrained
    checks them); None when there are none."""
    single = resolve_file(name_or_path, SAFETENSORS_NAME, optional=True)
    if single is not None:
        files = [single]
    else:
        index = resolve_file(name_or_path, SAFETENSORS_INDEX, optional=True)
        if index is None:
            return None
        weight_map = read_weight_map(index)
        is_local = Path(os.fspath(name_or_path)).expanduser().is_dir()
        files = [local_shard_path(index, name) if is_local else resolve_file(name_or_path, name)
                 for name in sorted(set(weight_map.values()))]
    shapes = {}
    for path in files:
        for key, entry in read_header(path).items():
            shapes[key] = (Path(path).name, list(entry["shape"]))
    return shapes


def count(shapes: dict[str, tuple[str, list[int]]]) -> int:
    return sum(math.prod(shape) for _, shape in shapes.values())


def shared_with_encoder(shapes: dict[str, tuple[str, list[int]]]) -> int:
    """Parameters of decoder keys (`decoder.<base>.X`) that repeat an encoder key (`encoder.X`)."""
    total = 0
    for key, (_, shape) in shapes.items():
        if not key.startswith("decoder."):
            continue
        _, _, inner = key[len("decoder."):].partition(".")  # drop the base prefix (roberta., bert., ...)
        encoder_key = shapes.get("encoder." + inner)
        if encoder_key is not None and encoder_key[1] == shape:
            total += math.prod(shape)
    return total


def special_ids(name_or_path: str | os.PathLike, config: dict[str, Any]) -> dict[str, Any]:
    """The pair's special ids: config.json first, then generation_config.json."""
    generation: dict[str, Any] = {}
    path = resolve_file(name_or_path, GENERATION_CONFIG_NAME, optional=True)
    if path is not None:
        generation = read_json_object(path, f"a {GENERATION_CONFIG_NAME}")
    return {name: config[name] if config.get(name) is not None else generation.get(name) for name in SPECIAL_IDS}


def render_description(info: dict[str, Any]) -> str:
    """`describe_checkpoint`'s summary as aligned text lines."""
    lines = [f"{info['path']}: {info['model_type']} ({', '.join(info['architectures'] or ['no architectures'])})"]
    for role, part in info["parts"].items():
        sizes = ", ".join(f"{k} {part[k]}" for k, _ in size_fields(part.get("model_type")) if k in part)
        family = f" ({part['model_type']})" if part.get("model_type") else ""
        lines.append(f"  {role}{family}" + (f": {sizes}" if sizes else "") + params(part.get("parameters")))
    lines.append(f"  parameters: {fmt(info['parameters'])} in {', '.join(info['weight_files']) or 'no safetensors'}")
    if "parameters_shared" in info:
        loaded = info["parameters"] - info["parameters_shared"]
        lines.append(f"  shared encoder-decoder weights: {fmt(info['parameters_shared'])} stored twice, "
                     f"{fmt(loaded)} once loaded")
    lines.append("  special ids: " + ", ".join(f"{k}={v}" for k, v in info["special_ids"].items()))
    lines.append("  tied: " + ", ".join(f"{k}={v}" for k, v in info["tied"].items()))
    return "\n".join(lines)


def params(value: int | None) -> str:
    return f"; {fmt(value)} parameters" if value is not None else ""


def fmt(value: int | None) -> str:
    if value is None:
        return "unknown (no safetensors headers)"
    return f"{value:,}"
