# TorchScript reads NamedTuple fields typed with typing.List and typing.Optional only
# ruff: noqa: UP006, UP045
"""A CPU decode step's blocks as one function over plain tensors, run by TorchScript's interpreter.

A batch-1 MiniLM decode step is ~600 Python-level torch calls around 37 products, and each call pays for
module dispatch, attribute lookups and argument parsing with caches that the products' weights have just
streamed through. `run_blocks` makes the same aten calls as `Block.step`, in the same order and on the same
tensors (so the outputs are the same to the bit: tests/test_flat_step.py holds the two together), from one
function over plain tensors; scripted once per process, the calls between the products cost far less. Whole
greedy batch-1 calls, alternating in one process: 1.15x-1.17x (a C++ loop over the same aten calls was as
fast; the same function unscripted 1.09x); beam 4 at batch 1 1.13x-1.15x, greedy 16 rows 1.08x
(docs/results.md).

It serves the decoder copies made for a call's steps (`packed.py`'s `PlannedLinear` and `PackedLinear` in
float32, `quantization.py`'s `Int8Linear` and `BF16Linear`), and in float32 the plain `Linear`s a copy keeps
(or the decoder itself, where no product leaves `F.linear`) wherever the kernel plan ranks `F.linear` first,
as on a processor where MKL is fast: one new token per row, on CPU, with a `DecoderCache`. Anything else
(the static cache, `WARMSEQ_CPU_KERNELS=0`, which keeps the plain PyTorch step, a family whose activation
has no code here) keeps `Block.step`. Scripting, and what happens where it fails:
`scripting.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, NamedTuple, Optional  # noqa: UP035 - TorchScript's names (`BlockWeights`)

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.modeling.attention import merge_heads
from warmseq.modeling.cache import DecoderCache
from warmseq.modeling.linear import Linear
from warmseq.modeling.memory_bags import attend_rows
from warmseq.modeling.packed import PackedLinear, PlannedLinear
from warmseq.modeling.products import halves_product, onednn_product
from warmseq.modeling.quantization import BF16Linear, Int8Linear, has_vnni
from warmseq.modeling.scripting import scripted

# product paths (`products.py`, `quantization.py`) and activations as TorchScript can switch on them
LINEAR, HALVES, ONEDNN, INT8, BF16_ONEDNN, BF16_LINEAR = 0, 1, 2, 3, 4, 5
PATH_CODES = {"linear": LINEAR, "halves": HALVES, "onednn": ONEDNN}
ACTIVATION_CODES = {"gelu": 0, "gelu_new": 1, "gelu_pytorch_tanh": 1, "gelu_fast": 1, "relu": 2, "silu": 3,
                    "swish": 3, "tanh": 4}


def product(x: Tensor, weight: Tensor, bias: Tensor | None, path: int) -> Tensor:
    """`products.run_path` by code (a packed weight takes ONEDNN)."""
    if path == 1:  # HALVES (TorchScript reads no module constants)
        return halves_product(x, weight, bias)
    if path == 2:  # ONEDNN
        return onednn_product(x, weight, bias)
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


class BlockWeights(NamedTuple):
    """A decoder copy's blocks as plain tensors, in block order: per block six products (self q/k/v, self out,
    cross q, cross out, up, down; a block without cross-attention repeats its q/k/v in the cross slots, never
    read) and three layer norms (self, cross, feed-forward)."""

    weights: List[Tensor]  # (out, in), or a packed copy (ONEDNN, BF16_ONEDNN); empty for INT8
    biases: List[Optional[Tensor]]
    paths: List[int]  # LINEAR, HALVES, ONEDNN, INT8, BF16_ONEDNN or BF16_LINEAR
    int8: List[torch.classes.quantized.LinearPackedParamsBase]  # per product where the paths are INT8, else none
    reduce_range: bool  # INT8: 7-bit activations (`quantization.has_vnni`)
    norms: List[Tensor]  # each norm's weight, then its bias
    eps: List[float]  # one per norm
    heads: int
    norm_first: bool
    activation: int  # ACTIVATION_CODES
    has_cross_attention: bool


class StepCache(NamedTuple):
    """What `run_blocks` reads and writes of a `DecoderCache`, per layer where a list."""

    keys: List[Tensor]  # (rows, heads, capacity, head_dim)
    values: List[Tensor]
    length: int  # positions filled before this step
    memory_keys: List[Tensor]  # (sources, heads, src_len, head_dim)
    memory_values: List[Tensor]
    memory_mask: Optional[Tensor]  # (sources, 1, 1, src_len) bool
    bags: List[Tensor]  # `MemoryBags`' key rows, key offsets, value rows, value offsets; empty: by products


def linear_at(x: Tensor, blocks: BlockWeights, at: int) -> Tensor:
    """Product `at` of the blocks: `product`, or `Int8Linear`'s and `BF16Linear`'s, op for op."""
    path, weight, bias = blocks.paths[at], blocks.weights[at], blocks.biases[at]
    if path == 3:  # INT8
        return torch.ops.quantized.linear_dynamic(x.float().contiguous(), blocks.int8[at], blocks.reduce_range)
    if path == 4 or path == 5:  # BF16_ONEDNN, BF16_LINEAR
        low = x.to(torch.bfloat16)
        y = product(low, weight, None, 2) if path == 4 else F.linear(low, weight)
        y = y.float()
        return y if bias is None else y.add_(bias)
    return product(x, weight, bias, path)


def norm_at(x: Tensor, blocks: BlockWeights, at: int) -> Tensor:
    return F.layer_norm(x, [x.shape[-1]], blocks.norms[2 * at], blocks.norms[2 * at + 1], blocks.eps[at])


def sublayer_input(x: Tensor, blocks: BlockWeights, norm: int) -> Tensor:
    """`Block.residual`'s input to its function: normed first (pre-norm) or as it is (post-norm)."""
    return norm_at(x, blocks, norm) if blocks.norm_first else x


def sublayer_output(y: Tensor, x: Tensor, blocks: BlockWeights, norm: int) -> Tensor:
    """`Block.residual`'s result from the function's output `y` and the sublayer's input `x`."""
    return y.add_(x) if blocks.norm_first else norm_at(y.add_(x), blocks, norm)


def cross_attention(x: Tensor, blocks: BlockWeights, at: int, layer: int, cache: StepCache) -> Tensor:
    """`CrossAttention.step`: queries grouped by source, attention by products or by bags, rows back."""
    rows, seq, width = x.shape[0], x.shape[1], x.shape[2]
    heads = blocks.heads
    head_dim = width // heads
    q = linear_at(x, blocks, at).view(rows, seq, heads, head_dim).transpose(1, 2)
    keys, values = cache.memory_keys[layer], cache.memory_values[layer]
    sources = keys.shape[0]
    per_source = rows // sources
    if per_source > 1:  # (sources * per_source, heads, seq, d) -> (sources, heads, per_source * seq, d)
        q = q.view(sources, per_source, heads, seq, head_dim).transpose(1, 2)
        q = q.reshape(sources, heads, per_source * seq, head_dim)
    if len(cache.bags) > 0:
        bags = cache.bags
        y = attend_rows(q, keys, values, cache.memory_mask, bags[0], bags[1], bags[2], bags[3])
    else:
        y = attend_by_products(q, keys, values, cache.memory_mask, 8)  # attention.DECODE_QUERIES
    if per_source > 1:
        grouped = y.shape[2]
        y = y.view(sources, heads, per_source, grouped // per_source, head_dim).transpose(1, 2)
        y = y.reshape(rows, heads, grouped // per_source, head_dim)
    return linear_at(merge_heads(y), blocks, at + 1)


def run_blocks(x: Tensor, blocks: BlockWeights, cache: StepCache) -> Tensor:
    """Every block's `Block.step` for `x` (rows, 1, hidden), one new position per row, writing the new keys and
    values into `cache` at position `cache.length`."""
    rows, width = x.shape[0], x.shape[2]
    head_dim = width // blocks.heads
    t = cache.length
    for layer in range(len(cache.keys)):
        at, norm = layer * 6, layer * 3  # each block's first product and first norm (`BlockWeights`)
        # self-attention: the new key and value into the cache, the query over every cached position
        qkv = linear_at(sublayer_input(x, blocks, norm), blocks, at).view(rows, 3, blocks.heads, 1, head_dim)
        keys, values = cache.keys[layer], cache.values[layer]
        keys[:, :, t:t + 1] = qkv[:, 1]
        values[:, :, t:t + 1] = qkv[:, 2]
        attended = attend_by_products(qkv[:, 0], keys[:, :, :t + 1], values[:, :, :t + 1], None, 8)
        x = sublayer_output(linear_at(merge_heads(attended), blocks, at + 1), x, blocks, norm)
        if blocks.has_cross_attention:
            y = cross_attention(sublayer_input(x, blocks, norm + 1), blocks, at + 2, layer, cache)
            x = sublayer_output(y, x, blocks, norm + 1)
        hidden = activate_(linear_at(sublayer_input(x, blocks, norm + 2), blocks, at + 4), blocks.activation)
        x = sublayer_output(linear_at(hidden, blocks, at + 5), x, blocks, norm + 2)
    return x


@dataclass
class FlatBlocks:
    """A decoder copy's blocks for `run_blocks`, gathered once per call."""

    weights: BlockWeights

    @staticmethod
    def of(stack: nn.Module, plain_path: int | None = None) -> FlatBlocks | None:
        """The flat tensors of `stack`'s blocks, or None where `run_blocks` does not serve it (a linear that is
        not an inference copy's, an activation without a code). A plain `Linear` takes `plain_path` (the
        caller's word that the plan ranks that path first for the call's rows); None: it is declined."""
        spec = stack.spec
        if spec.activation not in ACTIVATION_CODES:
            return None
        weights = BlockWeights(weights=[], biases=[], paths=[], int8=[], reduce_range=not has_vnni(), norms=[],
                               eps=[], heads=spec.num_heads, norm_first=spec.norm_first,
                               activation=ACTIVATION_CODES[spec.activation],
                               has_cross_attention=spec.has_cross_attention)
        for block in stack.layers:
            cross = block.cross_attn
            linears = (block.self_attn.qkv, block.self_attn.out, cross.q if cross else block.self_attn.qkv,
                       cross.out if cross else block.self_attn.qkv, block.ffn.up, block.ffn.down)
            flat = [flat_linear(m, plain_path) for m in linears]
            if None in flat:
                return None
            for weight, bias, path, int8 in flat:
                weights.weights.append(weight)
                weights.biases.append(bias)
                weights.paths.append(path)
                if int8 is not None:
                    weights.int8.append(int8)
            for norm in (block.self_attn_norm, block.cross_attn_norm or block.self_attn_norm, block.ffn_norm):
                weights.norms.extend((norm.weight.detach(), norm.bias.detach()))
                weights.eps.append(norm.eps)
        if weights.int8 and len(weights.int8) != len(weights.paths):  # int8 copies quantize every linear
            return None
        return FlatBlocks(weights)

    def decode(self, stack: nn.Module, tokens: Tensor, cache: DecoderCache) -> Tensor:
        """`stack.decode(tokens, cache)` for one new token per row (rows, 1): hidden states (rows, 1, hidden)."""
        x = stack.embeddings(tokens, cache.position)
        length = cache.layers[0].length
        bags = cache.memory_bags
        step = StepCache([layer.keys for layer in cache.layers], [layer.values for layer in cache.layers], length,
                         [kv[0] for kv in cache.memory_kv], [kv[1] for kv in cache.memory_kv], cache.memory_mask,
                         [] if bags is None else [bags.key_rows, bags.key_offsets, bags.value_rows, bags.value_offsets])
        x = scripted(run_blocks)(x, self.weights, step)
        for layer in cache.layers:
            layer.length = length + 1
        cache.position += 1
        return stack.final_norm(x) if stack.final_norm is not None else x


NO_WEIGHT = torch.empty(0)  # the weight of an INT8 product, whose weights live in its packed parameters


def flat_linear(m: nn.Module, plain_path: int | None) -> tuple[Tensor, Tensor | None, int, object | None] | None:
    """(weight, bias, path, int8 parameters) of an inference copy's linear, or of a plain `Linear` where there
    is a `plain_path`; None for any other module."""
    if type(m) is Linear and plain_path is not None:
        return m.weight.detach(), None if m.bias is None else m.bias.detach(), plain_path, None
    if isinstance(m, PlannedLinear):
        return m.weight, m.bias, PATH_CODES[m.path], None
    if isinstance(m, PackedLinear):
        return m.packed, m.bias, ONEDNN, None
    if isinstance(m, Int8Linear):
        return NO_WEIGHT, None, INT8, m.packed
    if isinstance(m, BF16Linear):
        return m.weight, m.bias, BF16_ONEDNN if m.uses_onednn else BF16_LINEAR, None
    return None
