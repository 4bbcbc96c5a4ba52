"""A CPU decode step's blocks as one function over plain tensors, run by TorchScript's interpreter.

A batch-1 MiniLM decode step is ~600 Python-level torch calls around 37 products, and each call pays for
module dispatch, attribute lookups and argument parsing with caches that the products' weights have just
streamed through. `run_blocks` makes the same aten calls as `Block.step`, in the same order and on the same
tensors (so the outputs are the same to the bit), from one function over lists of tensors; scripted once per
process, the calls between the products cost far less (greedy batch 1, whole calls alternating in one
process: 4.29 -> 3.52 ms per token; the same function unscripted 4.34 -> 3.96, docs/results.md).

It serves the decoder copies made for a call's steps (`packed.py`: every linear is a `PlannedLinear` or a
`PackedLinear`), one new token per row, float32 on CPU, a `DecoderCache`. Anything else (int8 and bf16
copies, the static cache, `WARMSEQ_CPU_KERNELS=0`, a family whose activation has no code here) keeps
`Block.step`. `torch.jit.script` is deprecated in favour of `torch.compile`, which is slower here (see
`static_step.py` and docs/results.md); where scripting fails the unscripted function runs, with the same
results.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import List, Optional  # noqa: UP035 - TorchScript's names, see `product`

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.modeling.cache import DecoderCache
from warmseq.modeling.packed import PackedLinear, PlannedLinear

logger = logging.getLogger(__name__)

# product paths (`products.py`) and activations as TorchScript can switch on them
LINEAR, HALVES, ONEDNN = 0, 1, 2
PATH_CODES = {"linear": LINEAR, "halves": HALVES, "onednn": ONEDNN}
ACTIVATION_CODES = {"gelu": 0, "gelu_new": 1, "gelu_pytorch_tanh": 1, "gelu_fast": 1, "relu": 2, "silu": 3,
                    "swish": 3, "tanh": 4}
# per block: self q/k/v, self out, cross q, cross out, up, down (a block without cross-attention repeats its
# q/k/v product in the cross slots, never read); norms: self, cross, feed-forward, each a weight and a bias
PRODUCTS_PER_BLOCK = 6
NORMS_PER_BLOCK = 3


def product(x: Tensor, weight: Tensor, bias: Tensor | None, path: int) -> Tensor:
    """`products.run_path` (a packed weight takes ONEDNN), op for op."""
    if path == 1:  # HALVES (TorchScript reads no module constants)
        rows = x.numel() // x.shape[-1]
        out_features, in_features = weight.shape[0], weight.shape[1]
        half = out_features // 2
        halves = weight.view(2, half, in_features)
        columns = x.reshape(rows, in_features).t().expand(2, in_features, rows)
        if bias is None:
            y = torch.bmm(halves, columns)
        else:
            y = torch.baddbmm(bias.view(2, half, 1), halves, columns)
        shape = list(x.shape[:-1]) + [out_features]
        return y.view(out_features, rows).t().contiguous().view(shape)
    if path == 2:  # ONEDNN
        # TorchScript's own name for the operator's `Scalar?[]`; a local annotation, never evaluated by Python
        scalars: List[Optional[number]] = []  # noqa: F821, UP006, UP045
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", scalars, "")
    return F.linear(x, weight, bias)


def activate_(x: Tensor, code: int) -> Tensor:
    """`block.IN_PLACE_ACTIVATIONS`, by code."""
    if code == 0:
        return torch.ops.aten.gelu_(x)
    if code == 1:
        return torch.ops.aten.gelu_(x, approximate="tanh")
    if code == 2:
        return torch.relu_(x)
    if code == 3:
        return F.silu(x, inplace=True)
    return torch.tanh_(x)


def attend_by_products(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, decode_queries: int) -> Tensor:
    """`attention.attend` for a decode step's few queries: `attend_with_weights`' ops, no dropout."""
    if q.shape[-2] > decode_queries:  # many beams of one source: torch's fused kernel, as `attend` takes it
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, -3.4028234663852886e38)  # LOWEST
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v


def attend_by_bags(q: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None, bags: list[Tensor]) -> Tensor:
    """`memory_bags.attend_bags`, op for op; `bags` holds its key rows and offsets, then its value rows and offsets."""
    sources, heads, queries, head_dim = q.shape[0], q.shape[1], q.shape[2], q.shape[3]
    src_len = keys.shape[2]
    groups = sources * heads
    key_table = keys.transpose(-2, -1).view(groups * head_dim, src_len)
    scores = F.embedding_bag(bags[0], key_table, bags[1], mode="sum",
                             per_sample_weights=(q * head_dim ** -0.5).reshape(-1))
    scores = scores.view(sources, heads, queries, src_len)
    if mask is not None:
        scores = scores.masked_fill(~mask, -3.4028234663852886e38)  # LOWEST
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
    out = F.embedding_bag(bags[2], values.view(groups * src_len, head_dim), bags[3], mode="sum",
                          per_sample_weights=weights.reshape(-1))
    return out.view(sources, heads, queries, head_dim)


def merge_heads(x: Tensor) -> Tensor:
    batch, heads, seq, head_dim = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    return x.transpose(1, 2).reshape(batch, seq, heads * head_dim)


def cross_attention(x: Tensor, weights: list[Tensor], biases: list[Tensor | None], paths: list[int], at: int,
                    keys: Tensor, values: Tensor, mask: Tensor | None, bags: list[Tensor], heads: int) -> Tensor:
    """`CrossAttention.step`: queries grouped by source, attention by products or by bags, rows back."""
    rows, seq, width = x.shape[0], x.shape[1], x.shape[2]
    head_dim = width // heads
    q = product(x, weights[at], biases[at], paths[at]).view(rows, seq, heads, head_dim).transpose(1, 2)
    sources = keys.shape[0]
    per_source = rows // sources
    if per_source > 1:  # (sources * per_source, heads, seq, d) -> (sources, heads, per_source * seq, d)
        q = q.view(sources, per_source, heads, seq, head_dim).transpose(1, 2)
        q = q.reshape(sources, heads, per_source * seq, head_dim)
    if len(bags) > 0:
        y = attend_by_bags(q, keys, values, mask, bags)
    else:
        y = attend_by_products(q, keys, values, mask, 8)  # attention.DECODE_QUERIES
    if per_source > 1:
        grouped = y.shape[2]
        y = y.view(sources, heads, per_source, grouped // per_source, head_dim).transpose(1, 2)
        y = y.reshape(rows, heads, grouped // per_source, head_dim)
    return product(merge_heads(y), weights[at + 1], biases[at + 1], paths[at + 1])


def run_blocks(x: Tensor, weights: list[Tensor], biases: list[Tensor | None], paths: list[int],
               norms: list[Tensor], eps: list[float], cache_keys: list[Tensor], cache_values: list[Tensor],
               length: int, memory_keys: list[Tensor], memory_values: list[Tensor], memory_mask: Tensor | None,
               bags: list[Tensor], heads: int, norm_first: bool, activation: int, has_cross_attention: bool) -> Tensor:
    """Every block's `Block.step` for `x` (rows, 1, hidden), one new position per row. Per block: products
    PRODUCTS_PER_BLOCK apart in `weights`/`biases`/`paths`, layer norms' weights and biases 2 * NORMS_PER_BLOCK
    apart in `norms` (`eps` one per norm); `length` positions of `cache_keys`/`cache_values` are filled."""
    rows, width = x.shape[0], x.shape[2]
    head_dim = width // heads
    for layer in range(len(cache_keys)):
        at, n = layer * 6, layer * 3  # PRODUCTS_PER_BLOCK, NORMS_PER_BLOCK
        # self-attention: the new key and value into the cache, the query over every cached position
        y = x if not norm_first else F.layer_norm(x, [width], norms[2 * n], norms[2 * n + 1], eps[n])
        qkv = product(y, weights[at], biases[at], paths[at]).view(rows, 3, heads, 1, head_dim)
        keys, values = cache_keys[layer], cache_values[layer]
        keys[:, :, length:length + 1] = qkv[:, 1]
        values[:, :, length:length + 1] = qkv[:, 2]
        attended = attend_by_products(qkv[:, 0], keys[:, :, :length + 1], values[:, :, :length + 1], None, 8)
        y = product(merge_heads(attended), weights[at + 1], biases[at + 1], paths[at + 1])
        x = y.add_(x) if norm_first else F.layer_norm(y.add_(x), [width], norms[2 * n], norms[2 * n + 1], eps[n])
        if has_cross_attention:
            y = x if not norm_first else F.layer_norm(x, [width], norms[2 * n + 2], norms[2 * n + 3], eps[n + 1])
            y = cross_attention(y, weights, biases, paths, at + 2, memory_keys[layer], memory_values[layer],
                                memory_mask, bags, heads)
            x = y.add_(x) if norm_first else F.layer_norm(y.add_(x), [width], norms[2 * n + 2], norms[2 * n + 3],
                                                          eps[n + 1])
        y = x if not norm_first else F.layer_norm(x, [width], norms[2 * n + 4], norms[2 * n + 5], eps[n + 2])
        hidden = activate_(product(y, weights[at + 4], biases[at + 4], paths[at + 4]), activation)
        y = product(hidden, weights[at + 5], biases[at + 5], paths[at + 5])
        x = y.add_(x) if norm_first else F.layer_norm(y.add_(x), [width], norms[2 * n + 4], norms[2 * n + 5],
                                                      eps[n + 2])
    return x


@dataclass
class FlatBlocks:
    """The tensors `run_blocks` reads from a decoder copy's blocks, gathered once per copy."""

    weights: list[Tensor]
    biases: list[Tensor | None]
    paths: list[int]
    norms: list[Tensor]
    eps: list[float]
    heads: int
    norm_first: bool
    activation: int
    has_cross_attention: bool

    @staticmethod
    def of(stack: nn.Module) -> FlatBlocks | None:
        """The flat tensors of `stack`'s blocks, or None where `run_blocks` does not serve it (a linear that is
        not a step copy's, an activation without a code)."""
        spec = stack.spec
        if spec.activation not in ACTIVATION_CODES:
            return None
        flat = FlatBlocks([], [], [], [], [], spec.num_heads, spec.norm_first, ACTIVATION_CODES[spec.activation],
                          spec.has_cross_attention)
        for block in stack.layers:
            cross = block.cross_attn
            linears = (block.self_attn.qkv, block.self_attn.out, cross.q if cross else block.self_attn.qkv,
                       cross.out if cross else block.self_attn.qkv, block.ffn.up, block.ffn.down)
            if not all(isinstance(m, PlannedLinear | PackedLinear) for m in linears):
                return None
            for m in linears:
                flat.weights.append(m.weight if isinstance(m, PlannedLinear) else m.packed)
                flat.biases.append(m.bias)
                flat.paths.append(PATH_CODES[m.path] if isinstance(m, PlannedLinear) else ONEDNN)
            for norm in (block.self_attn_norm, block.cross_attn_norm or block.self_attn_norm, block.ffn_norm):
                flat.norms += [norm.weight.detach(), norm.bias.detach()]
                flat.eps.append(norm.eps)
        return flat

    def decode(self, stack: nn.Module, tokens: Tensor, cache: DecoderCache) -> Tensor:
        """`stack.decode(tokens, cache)` for one new token per row (rows, 1): hidden states (rows, 1, hidden)."""
        x = stack.embeddings(tokens, cache.position)
        length = cache.layers[0].length
        bags = cache.memory_bags
        x = blocks_runner()(
            x, self.weights, self.biases, self.paths, self.norms, self.eps,
            [layer.keys for layer in cache.layers], [layer.values for layer in cache.layers], length,
            [kv[0] for kv in cache.memory_kv], [kv[1] for kv in cache.memory_kv], cache.memory_mask,
            [] if bags is None else [bags.key_rows, bags.key_offsets, bags.value_rows, bags.value_offsets],
            self.heads, self.norm_first, self.activation, self.has_cross_attention)
        for layer in cache.layers:
            layer.length = length + 1
        cache.position += 1
        return stack.final_norm(x) if stack.final_norm is not None else x


@functools.cache
def blocks_runner() -> Callable[..., Tensor]:
    """`run_blocks`, scripted once per process; unscripted where TorchScript cannot (same results)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation notice: see the module's docstring
            return torch.jit.script(run_blocks)
    except Exception as error:  # noqa: BLE001 - any failure to script leaves the plain function, equal in value
        logger.info("warmseq: decode steps run unscripted (TorchScript could not compile them: %s)", error)
        return run_blocks
