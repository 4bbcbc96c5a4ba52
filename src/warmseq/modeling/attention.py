"""Multi-head attention: self-attention with a fused q/k/v projection, cross-attention over encoder states."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.modeling.cache import LayerCache, SelfAttentionCache
from warmseq.modeling.dropout import dropout
from warmseq.modeling.linear import Linear
from warmseq.modeling.memory_bags import MemoryBags, attend_bags

DECODE_QUERIES = 8  # up to this many queries per row (a decode step, beams grouped by source): attention by
# matrix products


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    batch, seq, width = x.shape
    # (batch, seq, hidden) -> (batch, heads, seq, head_dim)
    return x.view(batch, seq, num_heads, width // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(batch, heads, seq, head_dim) -> (batch, seq, hidden) (TorchScript compiles it: `flat_step.py`)."""
    batch, heads, seq, head_dim = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    return x.transpose(1, 2).reshape(batch, seq, heads * head_dim)


class SelfAttention(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, dropout: float, bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.qkv = Linear(hidden_size, 3 * hidden_size, bias=bias)
        self.out = Linear(hidden_size, hidden_size, bias=bias)

    def forward(
        self, x: Tensor, mask: Tensor | None, is_causal: bool, cache: LayerCache | None = None
    ) -> Tensor:
        """`mask`: bool, True where a query may attend, broadcastable to (batch, heads, seq, keys)."""
        q, k, v, mask, is_causal = self.project(x, mask, is_causal, cache)
        y = attend(q, k, v, mask, is_causal, self.dropout if self.training else 0.0)
        return self.out(merge_heads(y))

    def forward_with_weights(
        self, x: Tensor, mask: Tensor | None, is_causal: bool, cache: LayerCache | None = None
    ) -> tuple[Tensor, Tensor]:
        """`forward`, and the attention weights (batch, heads, seq, keys) formed explicitly."""
        q, k, v, mask, is_causal = self.project(x, mask, is_causal, cache)
        y, weights = attend_with_weights(q, k, v, mask, is_causal, self.dropout if self.training else 0.0)
        return self.out(merge_heads(y)), weights

    def step(self, x: Tensor, cache: SelfAttentionCache) -> Tensor:
        """`forward` for one new position per row (rows, 1, hidden) in inference, extending a `DecoderCache`
        layer: the new query sees every cached key, so no mask, and the heads split with one view."""
        rows, _, width = x.shape
        qkv = self.qkv(x).view(rows, 3, self.num_heads, 1, width // self.num_heads)  # (rows, 3, heads, 1, head_dim)
        k, v = cache.append(qkv[:, 1], qkv[:, 2])
        return self.out(merge_heads(attend(qkv[:, 0], k, v, None, False, 0.0)))

    def project(
        self, x: Tensor, mask: Tensor | None, is_causal: bool, cache: LayerCache | None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None, bool]:
        """Queries, keys and values (batch, heads, seq, head_dim), the keys extended by the cache, and the
        mask that then applies."""
        q, k, v = (split_heads(t, self.num_heads) for t in self.qkv(x).chunk(3, dim=-1))
        if cache is not None:
            k, v = cache.append(k, v)
            static_mask = cache.key_mask()
            if static_mask is not None:  # a static cache: one new query, the whole capacity with unwritten slots hidden
                return q, k, v, static_mask, False
            # a single new query may see every cached key; a longer chunk needs the causal mask
            is_causal = is_causal and q.shape[2] > 1
            if is_causal and k.shape[2] != q.shape[2]:
                mask = causal_mask(q.shape[2], k.shape[2], x.device)
                is_causal = False
        return q, k, v, mask, is_causal


class CrossAttention(nn.Module):
    """Queries from the decoder, keys and values from the encoder's states (`memory`)."""

    def __init__(
        self, hidden_size: int, memory_size: int, num_heads: int, dropout: float, bias: bool = True
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.q = Linear(hidden_size, hidden_size, bias=bias)
        self.kv = Linear(memory_size, 2 * hidden_size, bias=bias)
        self.out = Linear(hidden_size, hidden_size, bias=bias)

    def project_memory(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values of the encoder states, (sources, heads, src_len, head_dim) each."""
        k, v = self.kv(memory).chunk(2, dim=-1)
        return split_heads(k, self.num_heads), split_heads(v, self.num_heads)

    def forward(self, x: Tensor, memory_kv: tuple[Tensor, Tensor], memory_mask: Tensor | None) -> Tensor:
        """`x` has rows_per_source rows for each source in `memory_kv` (beams share their source's keys)."""
        k, v = memory_kv
        q = self.queries(x, k.shape[0])
        y = attend(q, k, v, memory_mask, False, self.dropout if self.training else 0.0)
        return self.out(merge_heads(self.rows_back(y, x.shape[0])))

    def step(self, x: Tensor, memory_kv: tuple[Tensor, Tensor], memory_mask: Tensor | None,
             bags: MemoryBags | None) -> Tensor:
        """`forward` for a decode step's new positions in inference, by weighted row sums where `bags` is
        given (`memory_bags.py`: the keys are then laid out for them)."""
        if bags is None:
            return self(x, memory_kv, memory_mask)
        k, v = memory_kv
        y = attend_bags(self.queries(x, k.shape[0]), k, v, memory_mask, bags)
        return self.out(merge_heads(self.rows_back(y, x.shape[0])))

    def forward_with_weights(
        self, x: Tensor, memory_kv: tuple[Tensor, Tensor], memory_mask: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """`forward`, and the attention weights (rows, heads, seq, src_len) formed explicitly."""
        k, v = memory_kv
        q = self.queries(x, k.shape[0])
        y, weights = attend_with_weights(q, k, v, memory_mask, False, self.dropout if self.training else 0.0)
        return self.out(merge_heads(self.rows_back(y, x.shape[0]))), self.rows_back(weights, x.shape[0])

    def queries(self, x: Tensor, sources: int) -> Tensor:
        """(rows, heads, seq, head_dim) queries, or (sources, heads, per_source * seq, head_dim) when several
        rows share a source, so that one product per source serves all its rows."""
        q = split_heads(self.q(x), self.num_heads)  # (rows, heads, seq, head_dim)
        rows, heads, seq, head_dim = q.shape
        per_source = rows // sources
        if per_source == 1:
            return q
        # (sources * per_source, heads, seq, d) -> (sources, heads, per_source * seq, d)
        q = q.view(sources, per_source, heads, seq, head_dim).transpose(1, 2)
        return q.reshape(sources, heads, per_source * seq, head_dim)

    @staticmethod
    def rows_back(y: Tensor, rows: int) -> Tensor:
        """Undo `queries`' grouping: (sources, heads, per_source * seq, d) -> (rows, heads, seq, d)."""
        sources, heads, grouped, last = y.shape
        if sources == rows:
            return y
        per_source = rows // sources
        y = y.view(sources, heads, per_source, grouped // per_source, last).transpose(1, 2)
        return y.reshape(rows, heads, grouped // per_source, last)


def uses_fused_kernel(device_type: str, rows: int, queries: int, dropout_p: float) -> bool:
    """Whether `attend` calls torch's fused kernel for `rows` rows of `queries` queries each.

    On CPU the weights are formed by hand in two cases: with dropout, so that the cheaper mask of
    `warmseq.modeling.dropout` applies; and in decode steps (a few queries per row). There the fused kernel
    wins a loop that calls nothing else (1 row, 128 keys: 11 against 16 us), but loses inside a decode step,
    where its threads wake between the step's products: greedy steps of 1, 2, 3, 4 and 6 rows, alternating
    in one process, 5.89 -> 5.36, 7.05 -> 6.31, 7.89 -> 6.72, 7.65 -> 7.17 and 8.62 -> 7.90 ms with the
    weights formed by hand. Other devices (CUDA) always take the fused kernel, dropout included."""
    if device_type != "cpu":
        return True
    return dropout_p == 0.0 and queries > DECODE_QUERIES  # more queries per row than a decode step has


def attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool, dropout_p: float) -> Tensor:
    """Softmax attention, (batch, heads, queries, head_dim). `mask` is bool, True where a key is visible.

    Usually this is torch's fused kernel; see `uses_fused_kernel` for when the weights are formed here.
    A query that sees no key gets a zero output, as the fused kernel gives it."""
    if uses_fused_kernel(q.device.type, q.shape[0], q.shape[-2], dropout_p):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)
    return attend_with_weights(q, k, v, mask, is_causal, dropout_p)[0]


def attend_with_weights(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool, dropout_p: float
) -> tuple[Tensor, Tensor]:
    """Attention by matrix products: the output, and the weights (batch, heads, queries, keys) after dropout.

    A query that sees no key gets zero weights (and so a zero output, as the fused kernel gives it)."""
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (batch, heads, queries, keys)
    if is_causal:
        mask = causal_mask(q.shape[2], k.shape[2], q.device)
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # changes only rows that see no key at all
    weights = dropout(weights, dropout_p, True)
    return weights @ v, weights


def causal_mask(queries: int, keys: int, device: torch.device) -> Tensor:
    """(queries, keys) bool: the last query sits at the last key position."""
    offset = keys - queries
    return torch.ones(queries, keys, dtype=torch.bool, device=device).tril(diagonal=offset)


def padding_mask(attention_mask: Tensor) -> Tensor:
    """(batch, keys) 0/1 mask -> (batch, 1, 1, keys) bool for attention."""
    return attention_mask.bool()[:, None, None, :]


def additive_mask(allowed: Tensor, dtype: torch.dtype) -> Tensor:
    """Bool mask -> 0 where allowed, the dtype's lowest value elsewhere.

    A large finite value rather than -inf keeps a row with no allowed key finite (uniform weights)."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(
        ~allowed, torch.finfo(dtype).min
    )
