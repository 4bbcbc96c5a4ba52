"""A decode step's cross-attention as weighted sums of rows (`F.embedding_bag`), for many sources on CPU.

With one query per (source, head), cross-attention is two batched matrix-vector products per layer:
scores = keys @ query and output = weights @ values, each over sources x heads small matrices (12 x 128 x 32
for MiniLM). `bmm` hands each of them to the BLAS in turn, and at 16 sources its ~0.5 us per call costs as
much as reading the keys. Both products are also weighted sums of table rows, which `embedding_bag` computes
in one vectorized pass:

- scores: with the keys laid out (sources, heads, head_dim, src_len) in memory, row (g, d) of that table
  holds dimension d of every key of group g, so a group's scores are its rows weighted by its query;
- output: row (g, s) of the values (sources, heads, src_len, head_dim) is one value, weighted by its score.

On this project's 2-core AMD EPYC (whole calls, MiniLM bert2bert, 128-token sources, 32 new tokens,
alternating with the `bmm` path in one process): greedy 16 rows 1.04x-1.06x (int8 1.06x-1.09x), 64 rows
1.03x, beam 4 at 16 sources 1.04x; at 2 sources even, at one source 0.97x. The kernel plan measures where
it pays (`calibration.py`). The rest of the code sees keys of the usual shape whatever their layout, so
`bmm` and the fused kernel read them as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class MemoryBags:
    """Which table rows each query sums, for the shapes of one generate() call: bag b is group b // queries
    (a source's head), query b % queries of that group."""

    key_rows: Tensor  # (groups * queries * head_dim,) int64: rows of the transposed keys, head_dim per bag
    key_offsets: Tensor  # (groups * queries,) int64: where each bag starts in key_rows
    value_rows: Tensor  # (groups * queries * src_len,) int64: rows of the values, src_len per bag
    value_offsets: Tensor  # (groups * queries,) int64

    @staticmethod
    def build(sources: int, heads: int, queries: int, src_len: int, head_dim: int,
              device: torch.device) -> MemoryBags:
        groups = sources * heads

        def rows(per_group: int) -> tuple[Tensor, Tensor]:
            # each of a group's queries sums the same per_group rows: (groups, queries, per_group), flattened
            ids = torch.arange(groups * per_group, device=device).view(groups, 1, per_group)
            offsets = torch.arange(0, groups * queries * per_group, per_group, device=device)
            return ids.expand(groups, queries, per_group).reshape(-1), offsets

        key_rows, key_offsets = rows(head_dim)
        value_rows, value_offsets = rows(src_len)
        return MemoryBags(key_rows, key_offsets, value_rows, value_offsets)


def keys_laid_out_transposed(keys: Tensor) -> Tensor:
    """`keys` (sources, heads, src_len, head_dim), same shape and values, stored (sources, heads, head_dim,
    src_len) in memory as `attend_bags` reads them."""
    return keys.transpose(-2, -1).contiguous().transpose(-2, -1)


def attend_bags(q: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None, bags: MemoryBags) -> Tensor:
    """Softmax attention (sources, heads, queries, head_dim) of `q` over each source's `keys` (laid out by
    `keys_laid_out_transposed`) and contiguous `values`, (sources, heads, src_len, head_dim) each. `mask`
    is bool, True where a key is visible; a query that sees no key gets a zero output, as in `attend`."""
    return attend_rows(q, keys, values, mask, bags.key_rows, bags.key_offsets, bags.value_rows, bags.value_offsets)


def attend_rows(q: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None, key_rows: Tensor, key_offsets: Tensor,
                value_rows: Tensor, value_offsets: Tensor) -> Tensor:
    """`attend_bags` on the bags' tensors (TorchScript compiles this: `flat_step.py`). Float32 only, as the
    kernel plan takes bags (`stack.bags_pay`)."""
    sources, heads, queries, head_dim = q.shape[0], q.shape[1], q.shape[2], q.shape[3]
    src_len = keys.shape[2]
    groups = sources * heads
    key_table = keys.transpose(-2, -1).view(groups * head_dim, src_len)  # raises if not laid out for bags
    scores = F.embedding_bag(key_rows, key_table, key_offsets, mode="sum",
                             per_sample_weights=(q * head_dim**-0.5).reshape(-1))
    scores = scores.view(sources, heads, queries, src_len)
    if mask is not None:
        scores = scores.masked_fill(~mask, -3.4028234663852886e38)  # float32's lowest (no finfo in TorchScript)
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # changes only queries that see no key at all
    out = F.embedding_bag(value_rows, values.view(groups * src_len, head_dim), value_offsets, mode="sum",
                          per_sample_weights=weights.reshape(-1))
    return out.view(sources, heads, queries, head_dim)
