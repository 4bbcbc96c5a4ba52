"""Read and check a safetensors header ourselves before any library trusts it (no tensor library here).

The format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that follows), and an optional
"__metadata__" of strings. A downloaded file is untrusted: a name given twice (the library keeps the
last), offsets that overlap or leave gaps, and sizes that disagree with the shape are refused here,
naming the file and the key.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

MAX_HEADER_BYTES = 100_000_000  # the safetensors library's own limit
METADATA_KEY = "__metadata__"
DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice."""


def damaged(path: Path, problem: str) -> ValueError:
    return ValueError(f"{path} is not a readable safetensors file: {problem}")


def reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKeyError(key)
        seen[key] = value
    return seen


def read_header(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Tensor name -> {"dtype", "shape", "data_offsets"} of a safetensors file, checked.

    Raises ValueError naming the file (and the key) when the file cannot be a sound safetensors file."""
    path = Path(path)
    with path.open("rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise damaged(path, f"{file_size} bytes, less than the 8-byte header length")
        header_size = int.from_bytes(prefix, "little")
        if header_size > min(MAX_HEADER_BYTES, file_size - 8):
            raise damaged(path, f"its header claims {header_size} bytes but the file has {file_size}; "
                                "it may be truncated or not a safetensors file")
        raw = handle.read(header_size)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=reject_duplicates)
    except DuplicateKeyError as duplicate:
        raise damaged(path, f"its header lists tensor {duplicate} more than once") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise damaged(path, f"its header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise damaged(path, f"its header is a JSON {type(header).__name__}; expected an object")
    metadata = header.pop(METADATA_KEY, None)
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise damaged(path, f"its '{METADATA_KEY}' must map names to strings")
    for key, entry in header.items():
        check_entry(path, key, entry)
    check_layout(path, header, file_size - 8 - header_size)
    return header


def check_entry(path: Path, key: str, entry: Any) -> None:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise damaged(path, f"tensor {key!r} must have exactly 'dtype', 'shape' and 'data_offsets', got {entry!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPE_BYTES:
        raise damaged(path, f"tensor {key!r} has unknown dtype {dtype!r}; expected one of {sorted(DTYPE_BYTES)}")
    if not isinstance(shape, list) or not all(is_count(n) for n in shape):
        raise damaged(path, f"tensor {key!r} has shape {shape!r}; expected a list of non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(is_count(n) for n in offsets)
            and offsets[0] <= offsets[1]):
        raise damaged(path, f"tensor {key!r} has data_offsets {offsets!r}; expected [begin, end], begin <= end")
    expected = math.prod(shape) * DTYPE_BYTES[dtype]
    if offsets[1] - offsets[0] != expected:
        raise damaged(path, f"tensor {key!r} spans {offsets[1] - offsets[0]} bytes but its shape {shape} "
                            f"of {dtype} needs {expected}")


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_layout(path: Path, header: dict[str, dict[str, Any]], data_size: int) -> None:
    """The tensors' byte ranges must tile the data exactly: no overlap, no gap, nothing past the end."""
    position = 0
    for key, entry in sorted(header.items(), key=lambda item: tuple(item[1]["data_offsets"])):
        begin, end = entry["data_offsets"]
        if begin != position:
            problem = "overlaps the tensor before it" if begin < position else "leaves a gap before it"
            raise damaged(path, f"tensor {key!r} at bytes {begin}..{end} {problem}")
        position = end
    if position != data_size:
        raise damaged(path, f"the tensors cover {position} bytes of data but the file holds {data_size}; "
                            "it may be truncated or damaged")
