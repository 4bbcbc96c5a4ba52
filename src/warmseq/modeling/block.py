"""The transformer block every family uses: self-attention, optional cross-attention, feed-forward."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.configs.spec import TransformerSpec
from warmseq.modeling.attention import CrossAttention, SelfAttention
from warmseq.modeling.cache import LayerCache, SelfAttentionCache
from warmseq.modeling.dropout import Dropout
from warmseq.modeling.linear import Linear
from warmseq.modeling.memory_bags import MemoryBags

ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
    "tanh": lambda x: x.tanh(),
}


# the same functions writing into their input: inference applies them to a product's fresh output, which
# saves allocating (and, for an encoder's 2,048 x 1,536 activations, page-faulting in) a second tensor
IN_PLACE_ACTIVATIONS = {
    "gelu": torch.ops.aten.gelu_,
    "gelu_new": lambda x: torch.ops.aten.gelu_(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: torch.ops.aten.gelu_(x, approximate="tanh"),
    "gelu_fast": lambda x: torch.ops.aten.gelu_(x, approximate="tanh"),
    "relu": torch.relu_,
    "silu": lambda x: F.silu(x, inplace=True),
    "swish": lambda x: F.silu(x, inplace=True),
    "tanh": torch.tanh_,
}


def activation_fn(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not supported; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class FeedForward(nn.Module):
    def __init__(
        self, hidden_size: int, inner_size: int, activation: str, bias: bool = True, activation_dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.up = Linear(hidden_size, inner_size, bias=bias)
        self.down = Linear(inner_size, hidden_size, bias=bias)
        self.activation_name = activation
        self.activation = activation_fn(activation)
        self.dropout = Dropout(activation_dropout)

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(self.up, Linear):  # inference copies (packed, int8, bf16) replace it with their own product
            hidden = self.up.forward_activated(x, self.activation_name, self.activation)
        elif torch.is_grad_enabled():
            hidden = self.activation(self.up(x))
        else:
            hidden = IN_PLACE_ACTIVATIONS[self.activation_name](self.up(x))
        return self.down(self.dropout(hidden) if self.training else hidden)


class Block(nn.Module):
    """Post-norm (`x = norm(x + f(x))`, BERT/BART) or pre-norm (`x = x + f(norm(x))`, GPT-2)."""

    def __init__(self, spec: TransformerSpec) -> None:
        super().__init__()
        h, eps = spec.hidden_size, spec.norm_eps
        self.norm_first = spec.norm_first
        self.self_attn = SelfAttention(h, spec.num_heads, spec.attention_dropout, spec.attention_bias)
        self.self_attn_norm = nn.LayerNorm(h, eps=eps)
        self.cross_attn = self.cross_attn_norm = None
        if spec.has_cross_attention:
            # cross-attention reads states of the decoder's width: a pair projects wider encoders (enc_to_dec_proj)
            self.cross_attn = CrossAttention(h, h, spec.num_heads, spec.attention_dropout, spec.attention_bias)
            self.cross_attn_norm = nn.LayerNorm(h, eps=eps)
        self.ffn = FeedForward(h, spec.intermediate_size, spec.activation, activation_dropout=spec.activation_dropout)
        self.ffn_norm = nn.LayerNorm(h, eps=eps)
        self.dropout = Dropout(spec.dropout)

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None,
        is_causal: bool,
        memory_kv: tuple[Tensor, Tensor] | None = None,
        memory_mask: Tensor | None = None,
        cache: LayerCache | None = None,
    ) -> Tensor:
        x = self.residual(x, self.self_attn_norm, lambda y: self.self_attn(y, mask, is_causal, cache))
        if self.cross_attn is not None and memory_kv is not None:
            x = self.residual(x, self.cross_attn_norm, lambda y: self.cross_attn(y, memory_kv, memory_mask))
        return self.residual(x, self.ffn_norm, self.ffn)

    def step(
        self, x: Tensor, memory_kv: tuple[Tensor, Tensor] | None, memory_mask: Tensor | None,
        cache: SelfAttentionCache, bags: MemoryBags | None = None,
    ) -> Tensor:
        """`forward` for one new position per row (rows, 1, hidden) in inference: the self-attention's own
        step (no mask, heads split by one view), which a batch-1 decode step of a small model notices, and
        cross-attention by `bags` where the cache has them."""
        x = self.residual(x, self.self_attn_norm, lambda y: self.self_attn.step(y, cache))
        if self.cross_attn is not None and memory_kv is not None:
            x = self.residual(x, self.cross_attn_norm, lambda y: self.cross_attn.step(y, memory_kv, memory_mask, bags))
        return self.residual(x, self.ffn_norm, self.ffn)

    def forward_with_weights(
        self,
        x: Tensor,
        mask: Tensor | None,
        is_causal: bool,
        memory_kv: tuple[Tensor, Tensor] | None = None,
        memory_mask: Tensor | None = None,
        cache: LayerCache | None = None,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """`forward`, and the self-attention and cross-attention weights (None without cross-attention)."""
        weights: list[Tensor] = []

        def self_attention(y: Tensor) -> Tensor:
            out, w = self.self_attn.forward_with_weights(y, mask, is_causal, cache)
            weights.append(w)
            return out

        def cross_attention(y: Tensor) -> Tensor:
            out, w = self.cross_attn.forward_with_weights(y, memory_kv, memory_mask)
            weights.append(w)
            return out

        x = self.residual(x, self.self_attn_norm, self_attention)
        if self.cross_attn is not None and memory_kv is not None:
            x = self.residual(x, self.cross_attn_norm, cross_attention)
        x = self.residual(x, self.ffn_norm, self.ffn)
        return x, weights[0], weights[1] if len(weights) > 1 else None

    @torch.no_grad()
    def init_cross_attention_from_self(self) -> None:
        """Start cross-attention (and the norm after it) as a copy of this block's self-attention.

        Fresh cross-attention starts from random projections; a copy of the pretrained self-attention
        starts with queries and keys in the space the pretrained weights already compare, which helps a
        decoder learn to copy from the source early in fine-tuning."""
        if self.cross_attn is None or self.cross_attn_norm is None:
            raise ValueError("init_cross_attention_from_self: this block has no cross-attention")
        own, cross = self.self_attn, self.cross_attn  # both read states of the decoder's width
        width = own.out.weight.shape[0]  # qkv rows: queries [:width], then keys and values
        cross.q.weight.copy_(own.qkv.weight[:width])
        cross.kv.weight.copy_(own.qkv.weight[width:])
        cross.out.weight.copy_(own.out.weight)
        if own.qkv.bias is not None:  # both attentions have biases or neither (spec.attention_bias)
            cross.q.bias.copy_(own.qkv.bias[:width])
            cross.kv.bias.copy_(own.qkv.bias[width:])
            cross.out.bias.copy_(own.out.bias)
        self.cross_attn_norm.load_state_dict(self.self_attn_norm.state_dict())

    def residual(self, x: Tensor, norm: nn.LayerNorm, f) -> Tensor:
        if torch.is_grad_enabled() or self.training:
            if self.norm_first:
                return x + self.dropout(f(norm(x)))
            return norm(x + self.dropout(f(x)))
        # inference: `f`'s output is a fresh tensor, and adding into it saves allocating another
        if self.norm_first:
            return f(norm(x)).add_(x)
        return norm(f(x).add_(x))
