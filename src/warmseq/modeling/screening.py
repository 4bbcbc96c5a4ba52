"""The greedy token of each row, exactly as from float32 logits, for half the LM head's memory traffic.

A batch-1 decode step is bound by reading its weights, and the LM head is half of them (MiniLM: 47 of
97 MB). Greedy search without logits transforms needs only each row's largest logit, so the head is
multiplied in bf16 (a packed copy half the size: 0.6 against 1.2 ms at 1 row on this project's machine),
and a rigorous bound on the bf16 error rules out every token that cannot be the float32 maximum. Only the
few tokens left (1-3 for a fine-tuned MiniLM, at most ~15 for a fresh one) are multiplied in float32, so
the chosen token is the float32 argmax: the same as from the full float32 product, up to float32 ties.
Whether the screen pays is measured per row count by the kernel plan (`calibration.py`): where bf16
products are emulated in software, or the passes over many rows cost more than the bf16 product saves,
the float32 head stays.

The bound. With unit roundoff u = 2^-8 for bf16 and g = n * 2^-24 / (1 - n * 2^-24) for float32 sums of
n terms, the bf16 result b_j of logit j (inputs and weights rounded to bf16, float32 accumulation, output
rounded to bf16) and the float32 result z_j both lie within
    (2u + u^2 + 2g (1 + u)^2) * sum_i |x_i| |w_ji|  +  u / (1 - u) * |b_j|
of the exact value, and sum_i |x_i| |w_ji| <= ||x|| max_j ||w_j|| (Cauchy-Schwarz; the largest row norm
computed once). A token is kept unless its b_j, raised by its largest error, stays below the row's largest
b_k lowered by its own (`ScreenedArgmax.threshold`): the float32 maximum cannot be among the others.

A single row (greedy search of one source, the commonest call) takes a shorter way of about ten operations
instead of forty (`ScreenedArgmax.one_row`): the bias goes into the bf16 product, whose output rounding then
covers it, and the threshold is worked out in Python floats."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from warmseq.generation.row_max import block_maxima, block_positions, row_max
from warmseq.modeling.products import onednn_product, pack_weight

BF16_UNIT = 2.0**-8
SAFETY = 1.01  # covers the float32 rounding of the norms and of the margin itself
MAX_EXACT = 256  # more candidates than this (a flat distribution): the whole float32 product instead


class ScreenedArgmax:
    """Each row's largest float32 logit of `x @ weight.T + bias` and its token, screened in bf16."""

    def __init__(self, weight: Tensor, bias: Tensor | None, rows: int) -> None:
        self.weight = weight.detach()
        self.bias = None if bias is None else bias.detach()
        self.packed = pack_weight(self.weight.to(torch.bfloat16), rows)
        terms = weight.shape[1]
        sums = terms * 2.0**-24 / (1 - terms * 2.0**-24)  # g: relative error of a float32 sum of `terms`
        # the products' error per unit of ||x||; the output's rounding (and the float32 addition of the bias)
        # per unit of |logit|, which a logit's bias adds to
        self.product_bound = SAFETY * (2 * BF16_UNIT + BF16_UNIT**2 + 2 * sums * (1 + BF16_UNIT) ** 2)
        self.product_bound *= float(self.weight.norm(dim=1).max())
        self.output_bound = SAFETY * (BF16_UNIT / (1 - BF16_UNIT) + 2.0**-23)
        self.largest_bias = 0.0 if bias is None else float(self.bias.abs().max())

    def __call__(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(rows, in) -> the largest logit (rows,) float32 and its token (rows,) int64."""
        if x.shape[0] == 1:
            return self.one_row(x)
        low = onednn_product(x.to(torch.bfloat16), self.packed, None)  # (rows, vocab) bf16
        # float32 from here: with the bias added in the same pass where there is one
        low = torch.add(self.bias, low) if self.bias is not None else low.float()
        block_max = block_maxima(low)  # (rows, blocks)
        rows, tokens = tokens_reaching(low, block_max, self.threshold(x, block_max.amax(dim=-1)))
        if tokens.numel() > MAX_EXACT * x.shape[0]:
            return row_max(self.exact(x))
        values = (x[rows] * self.weight[tokens]).sum(dim=-1)  # (candidates,) float32
        if self.bias is not None:
            values += self.bias[tokens]
        return best_per_row(values, rows, tokens, x.shape[0])

    def one_row(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """`__call__` for x (1, in). oneDNN adds the float32 bias to the float32 sums before rounding to bf16,
        so b_j's error is the products' part plus o|b_j|; the bias's own rounding, should a build round it to
        bf16 first, is allowed for (u |bias_j|)."""
        low = onednn_product(x.to(torch.bfloat16), self.packed, self.bias)[0]  # (vocab,) bf16, bias included
        o = self.output_bound
        p = float(x.norm()) * self.product_bound + self.largest_bias * (o + BF16_UNIT)
        largest = float(low.max())
        right = largest - 2 * p - o * abs(largest)
        threshold = bf16_at_most(right / (1 + o) if right >= 0 else right / (1 - o))
        tokens = (low >= threshold).nonzero()[:, 0]  # (candidates,) in order
        if tokens.numel() > MAX_EXACT:
            return row_max(self.exact(x))
        values = (x * self.weight[tokens]).sum(dim=-1)  # (candidates,) float32
        if self.bias is not None:
            values += self.bias[tokens]
        return best_of_row(values, tokens)

    def threshold(self, x: Tensor, largest: Tensor) -> Tensor:
        """(rows,): the least screened logit b_j that may still be its row's float32 maximum.

        Token j's error is at most p + o|b_j| (p: the products' part plus the bias's share of the output's
        rounding, o: the output's). The maximum is at least largest - p - o|largest|, so j stays when
        b_j + o|b_j| >= largest - 2p - o|largest|; the left side grows with b_j, so this is b_j >= the
        inverse of b -> b + o|b| at the right side."""
        o = self.output_bound
        p = x.float().norm(dim=-1) * self.product_bound + self.largest_bias * o
        right = largest.float() - 2 * p - o * largest.float().abs()
        return torch.where(right >= 0, right / (1 + o), right / (1 - o))

    def exact(self, x: Tensor) -> Tensor:
        logits = x @ self.weight.t()
        return logits if self.bias is None else logits + self.bias


def bf16_at_most(value: float) -> float:
    """The largest bf16 number not above `value` (bf16 keeps 8 significant bits), so that comparing bf16 scores
    with it rounds nothing; NaN and infinities as they are. Values too small for bf16's normal numbers give a
    small negative power of two instead, which is lower still."""
    if not math.isfinite(value):
        return value
    if abs(value) < 2.0**-100:
        return -(2.0**-100)
    mantissa, exponent = math.frexp(value)  # value = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    return math.ldexp(math.floor(mantissa * 2**8) / 2**8, exponent)


def tokens_reaching(scores: Tensor, block_max: Tensor, threshold: Tensor) -> tuple[Tensor, Tensor]:
    """(rows, tokens) where scores[row, token] >= threshold[row] (rows sorted, tokens non-decreasing within a
    row), looking only into the blocks whose maximum reaches the threshold (a comparison and `nonzero` over
    16 x 30,522 scores take 260 us here; over the blocks, a few)."""
    hit_rows, hit_blocks = (block_max >= threshold[:, None]).nonzero(as_tuple=True)  # (hits,) each
    positions = block_positions(hit_blocks, scores.shape[1])  # (hits, BLOCK)
    hit, offset = (scores[hit_rows[:, None], positions] >= threshold[hit_rows, None]).nonzero(as_tuple=True)
    return hit_rows[hit], positions[hit, offset]  # a short last block repeats its last token: harmless


def best_per_row(values: Tensor, rows: Tensor, tokens: Tensor, row_count: int) -> tuple[Tensor, Tensor]:
    """The largest of each row's candidate `values` and its token, the lowest token among equal values (as
    `max` over a row of logits gives). `rows` is sorted and `tokens` do not decrease within a row. A row without
    candidates (NaN or infinite inputs) gets -inf, which the search's finiteness check reports."""
    if row_count == 1:
        return best_of_row(values, tokens)
    best = values.new_full((row_count,), float("-inf")).scatter_reduce_(0, rows, values, "amax")
    hit = values == best[rows]
    token = tokens.new_full((row_count,), 0).scatter_reduce_(0, rows[hit], tokens[hit], "amin", include_self=False)
    return best, token


def best_of_row(values: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
    """`best_per_row` for a single row: (1,) each; no candidates give -inf and token 0."""
    if not values.numel():
        return values.new_full((1,), float("-inf")), tokens.new_zeros(1)
    at = values.argmax()  # the first of equal values
    return values[at].view(1), tokens[at].view(1)
