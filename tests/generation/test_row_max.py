"""row_max gives `max(dim=-1)`'s values and indices: ties, NaN, every width."""

from __future__ import annotations

import pytest
import torch

from warmseq.generation.row_max import BLOCK, row_max


@pytest.mark.parametrize("width", [7, 4 * BLOCK + 1, 8 * BLOCK, 30522])
def test_row_max_is_max(width):
    scores = torch.randn(9, width)
    scores[1, width // 3] = scores[1, -1] = 50.0  # a tie: the first index
    scores[2] = 1.0  # the whole row ties
    scores[3, -1] = 60.0  # in the last block, shorter than the others
    scores[4, width // 2] = float("nan")
    scores[5, :] = float("-inf")
    expected = scores.max(dim=-1)
    values, indices = row_max(scores)
    assert torch.equal(indices, expected.indices)
    torch.testing.assert_close(values, expected.values, equal_nan=True)


def test_row_max_takes_the_block_path_for_a_vocabulary():
    scores = torch.zeros(2, 30522)
    scores[0, 20000] = scores[1, 129] = 1.0
    assert row_max(scores)[1].tolist() == [20000, 129]
