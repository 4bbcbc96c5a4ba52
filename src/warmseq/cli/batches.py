"""Length-sorted batches for `warmseq generate`: similar lengths share a batch, so little is padding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SourceBatch:
    """Padded source ids and mask, (batch, longest), and the input positions of their rows."""

    indices: list[int]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor


def length_sorted_batches(rows: list[list[int]], batch_size: int, pad_id: int) -> Iterator[SourceBatch]:
    """Batches of `rows` (token ids, one list per input) from longest to shortest, right-padded."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]), reverse=True)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        longest = max(len(rows[i]) for i in indices)
        input_ids = torch.full((len(indices), longest), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(indices), longest), dtype=torch.long)
        for row, index in enumerate(indices):
            ids = rows[index]
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        yield SourceBatch(indices, input_ids, attention_mask)
