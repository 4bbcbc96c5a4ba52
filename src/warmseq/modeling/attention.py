"""Multi-head attention: self-attention with a fused q/k/v projection, cross-attention over encoder states."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.modeling.cache import SelfAttentionCache
from warmseq.modeling.dropout import dropout
from warmseq.modeling.linear import Linear

DECODE_QUERIES = 8  # few queries per row, and at least this many in all: attention by matrix products


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    batch, seq, width = x.shape
    # (batch, seq, hidden) -> (batch, heads, seq, head_dim)
    return x.view(batch, seq, num_heads, width // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    batch, heads, seq, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * head_dim)


class SelfAttention(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, dropout: float, bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.qkv = Linear(hidden_size, 3 * hidden_size, bias=bias)
        self.out = Linear(hidden_size, hidden_size, bias=bias)

    def forward(
        self, x: Tensor, mask: Tensor | None, is_causal: bool, cache: SelfAttentionCache | None = None
    ) -> Tensor:
        """`mask`: bool, True where a query may attend, broadcastable to (batch, heads, seq, keys)."""
        q, k, v = (split_heads(t, self.num_heads) for t in self.qkv(x).chunk(3, dim=-1))
        if cache is not None:
            k, v = cache.append(k, v)
            # a single new query may see every cached key; a longer chunk needs the causal mask
            is_causal = is_causal and q.shape[2] > 1
            if is_causal and k.shape[2] != q.shape[2]:
                mask = causal_mask(q.shape[2], k.shape[2], x.device)
                is_causal = False
        y = attend(q, k, v, mask, is_causal, self.dropout if self.training else 0.0)
        return self.out(merge_heads(y))


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
        q = split_heads(self.q(x), self.num_heads)  # (rows, heads, seq, head_dim)
        rows, heads, seq, head_dim = q.shape
        sources = k.shape[0]
        per_source = rows // sources
        if per_source > 1:
            # (sources * per_source, heads, seq, d) -> (sources, heads, per_source * seq, d)
            q = q.view(sources, per_source, heads, seq, head_dim).transpose(1, 2)
            q = q.reshape(sources, heads, per_source * seq, head_dim)
        y = attend(q, k, v, memory_mask, False, self.dropout if self.training else 0.0)
        if per_source > 1:
            y = y.view(sources, heads, per_source, seq, head_dim).transpose(1, 2)
            y = y.reshape(rows, heads, seq, head_dim)
        return self.out(merge_heads(y))


def attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool, dropout_p: float) -> Tensor:
    """Softmax attention, (batch, heads, queries, head_dim). `mask` is bool, True where a key is visible.

    Usually this is torch's fused kernel. The weights are formed here instead in two cases: with
    dropout, so that the cheaper mask of `warmseq.modeling.dropout` applies; and in decode steps of
    several rows, where the fused kernel is slow with one query per row (16 rows, 128 keys: 320 against
    195 us). A query that sees no key gets a zero output, as the fused kernel gives it."""
    queries = q.shape[-2]
    is_decode_step = queries <= DECODE_QUERIES and q.shape[0] * queries >= DECODE_QUERIES
    if dropout_p == 0.0 and not is_decode_step:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (batch, heads, queries, keys)
    if is_causal:
        mask = causal_mask(q.shape[2], k.shape[2], q.device)
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # changes only rows that see no key at all
    return dropout(weights, dropout_p, True) @ v


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
