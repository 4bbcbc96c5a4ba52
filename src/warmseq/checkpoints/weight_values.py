"""Checks on the values a checkpoint puts into a model: float dtypes only, NaN/Inf named at load.

Every weight a model loads is a float; an integer or boolean tensor under a weight's name is a broken
or hostile file, and casting it would load garbage silently. A NaN or infinite weight loads (a user
may be debugging it) but is named in a warning at load, not discovered at generation.
Works on PyTorch tensors and NumPy arrays alike, like `arrays`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from warmseq.checkpoints.arrays import Array

logger = logging.getLogger("warmseq")
SHOWN_KEYS = 5


def _is_torch(array: Array) -> bool:
    return type(array).__module__.startswith("torch")


def is_float(array: Array) -> bool:
    if _is_torch(array):
        return array.is_floating_point()
    return np.issubdtype(array.dtype, np.floating)


def is_all_finite(array: Array) -> bool:
    if _is_torch(array):
        import torch  # already imported by whoever made the tensor

        return bool(torch.isfinite(array).all())
    return bool(np.isfinite(array).all())


def check_weight_values(checkpoint: dict[str, Array], used_keys: Iterable[str], source: str) -> list[str]:
    """Raise ValueError naming a used key whose dtype is not a float; warn naming keys holding NaN/Inf.

    Returns the keys with non-finite values. `used_keys` are the checkpoint keys the model reads
    (unused buffers such as int64 `position_ids` are not checked)."""
    used = [key for key in used_keys if key in checkpoint]
    for key in used:
        if not is_float(checkpoint[key]):
            raise ValueError(
                f"{source}: weight {key!r} has dtype {str(checkpoint[key].dtype).removeprefix('torch.')}; "
                "expected a float type (float32, float16, bfloat16, float64). The checkpoint is broken or "
                "not a model checkpoint"
            )
    non_finite = [key for key in used if not is_all_finite(checkpoint[key])]
    if non_finite:
        shown = ", ".join(non_finite[:SHOWN_KEYS]) + (f" and {len(non_finite) - SHOWN_KEYS} more"
                                                      if len(non_finite) > SHOWN_KEYS else "")
        logger.warning("%s: %d weight(s) hold NaN or infinite values: %s", source, len(non_finite), shown)
    return non_finite
