"""Each row's largest score and where it is, for wide rows (a vocabulary), by blocks.

torch's `max(dim=-1)` with indices is slow over a vocabulary on CPU (16 x 30,522 scores on this project's
machine: 190 us, against 16 us for `amax`, which returns no index). The maximum of each run of BLOCK scores
comes cheaply from `amax`; the first block holding the row's maximum, then the first position in it, give
the same index as `max`, ties and NaN included (NaN counts as the largest, as in `max`)."""

from __future__ import annotations

import torch
from torch import Tensor

BLOCK = 128  # scores per block
NARROW = 4 * BLOCK  # rows no wider than this: `max` itself
FEW_ROWS = 4  # fewer rows: `max` itself (1 x 30,522 here: 19 us, by blocks 30; 4 rows: 53 against 41)


def block_maxima(scores: Tensor) -> Tensor:
    """(rows, width) -> (rows, blocks): the largest score of each run of BLOCK (the last run may be shorter)."""
    rows, width = scores.shape
    whole = width // BLOCK * BLOCK
    maxima = scores[:, :whole].view(rows, whole // BLOCK, BLOCK).amax(dim=-1)
    if whole == width:
        return maxima
    return torch.cat([maxima, scores[:, whole:].amax(dim=-1, keepdim=True)], dim=-1)


def block_positions(blocks: Tensor, width: int) -> Tensor:
    """(n,) block numbers -> the (n, BLOCK) positions they hold; past the row's end (a shorter last block),
    its last position again, which comes after the original and so never wins a first-index tie."""
    positions = blocks[:, None] * BLOCK + torch.arange(BLOCK, device=blocks.device)
    return positions.clamp_(max=width - 1)


def row_max(scores: Tensor) -> tuple[Tensor, Tensor]:
    """`scores.max(dim=-1)` for (rows, width) float scores: each row's largest value and its first index."""
    rows, width = scores.shape
    if rows < FEW_ROWS or width <= NARROW or scores.device.type != "cpu" or not scores.is_contiguous():
        return scores.max(dim=-1)
    block = block_maxima(scores).argmax(dim=-1)  # (rows,) the first block holding the maximum
    positions = block_positions(block, width)
    inner = torch.gather(scores, 1, positions).argmax(dim=-1)
    index = positions.gather(1, inner[:, None])  # (rows, 1)
    return scores.gather(1, index)[:, 0], index[:, 0]
