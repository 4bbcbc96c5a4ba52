"""The dict-like result of calling a tokenizer, and its conversion to tensors."""

from __future__ import annotations

from typing import Any

TENSOR_TYPES = (None, "pt", "np", "tf")


class BatchEncoding(dict):
    """A dict of model inputs (`input_ids`, `attention_mask`, ...) whose keys also read as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field '{name}'; it holds {sorted(self.keys())}") from None

    def to(self, device: Any) -> BatchEncoding:
        """Moves every tensor to `device` (torch only); lists are left as they are."""
        return BatchEncoding({key: value.to(device) if hasattr(value, "to") else value for key, value in self.items()})


def check_tensor_type(return_tensors: str | None) -> None:
    if return_tensors not in TENSOR_TYPES:
        raise ValueError(f"return_tensors={return_tensors!r} is not supported; use None, 'pt' (torch), 'np' or 'tf'")


def as_tensors(rows: dict[str, list[list[int]]], return_tensors: str) -> dict[str, Any]:
    """Stacks each field's rows into a (batch, seq) int64 tensor; rows must share one length."""
    for key, value in rows.items():
        lengths = sorted({len(row) for row in value})
        if len(lengths) > 1:
            raise ValueError(
                f"cannot make a {return_tensors!r} tensor of '{key}': its sequences have different lengths "
                f"{lengths[0]}..{lengths[-1]}; pass padding=True (and truncation=True) to the tokenizer"
            )
    if return_tensors == "pt":
        import torch  # only when asked for, so the tokenizer stays usable without torch

        return {key: torch.tensor(value, dtype=torch.long) for key, value in rows.items()}
    import numpy

    if return_tensors == "tf":
        import tensorflow  # only when asked for (the TF port's users)

        return {key: tensorflow.constant(value, dtype=tensorflow.int32) for key, value in rows.items()}
    return {key: numpy.array(value, dtype=numpy.int64) for key, value in rows.items()}
