"""The transformer block every family uses: self-attention, optional cross-attention, feed-forward."""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from warmseq.configs.spec import TransformerSpec
from warmseq.tf.attention import CrossAttention, SelfAttention
from warmseq.tf.layers import LayerNorm, Linear

ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "gelu": lambda x: tf.nn.gelu(x, approximate=False),
    "gelu_new": lambda x: tf.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: tf.nn.gelu(x, approximate=True),
    "gelu_fast": lambda x: tf.nn.gelu(x, approximate=True),
    "relu": tf.nn.relu,
    "silu": tf.nn.silu,
    "swish": tf.nn.silu,
    "tanh": tf.tanh,
}


def activation_fn(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not supported; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class FeedForward(keras.layers.Layer):
    def __init__(self, hidden_size: int, inner_size: int, activation: str, activation_dropout: float = 0.0,
                 std: float = 0.02, **kw) -> None:
        super().__init__(**kw)
        self.up = Linear(hidden_size, inner_size, std=std)
        self.down = Linear(inner_size, hidden_size, std=std)
        self.activation = activation_fn(activation)
        self.dropout = keras.layers.Dropout(activation_dropout)
        self.built = True  # every weight exists from here on

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.down(self.dropout(self.activation(self.up(x)), training=training))


class Block(keras.layers.Layer):
    """Post-norm (`x = norm(x + f(x))`, BERT/BART) or pre-norm (`x = x + f(norm(x))`, GPT-2)."""

    def __init__(self, spec: TransformerSpec, **kw) -> None:
        super().__init__(**kw)
        h, eps, std = spec.hidden_size, spec.norm_eps, spec.initializer_range
        self.norm_first = spec.norm_first
        self.self_attn = SelfAttention(h, spec.num_heads, spec.attention_dropout, spec.attention_bias)
        self.self_attn_norm = LayerNorm(h, eps)
        self.cross_attn = self.cross_attn_norm = None
        if spec.has_cross_attention:
            self.cross_attn = CrossAttention(h, h, spec.num_heads, spec.attention_dropout,
                                             spec.attention_bias)
            self.cross_attn_norm = LayerNorm(h, eps)
        self.ffn = FeedForward(h, spec.intermediate_size, spec.activation, spec.activation_dropout, std)
        self.ffn_norm = LayerNorm(h, eps)
        self.dropout = keras.layers.Dropout(spec.dropout)
        self.built = True  # every weight exists from here on

    def call(
        self, x: tf.Tensor, visible: tf.Tensor | None, memory_kv: tuple[tf.Tensor, tf.Tensor] | None = None,
        memory_mask: tf.Tensor | None = None, training: bool = False,
    ) -> tf.Tensor:
        x = self.residual(x, self.self_attn_norm, lambda y: self.self_attn(y, visible=visible, training=training),
                          training)
        if self.cross_attn is not None and memory_kv is not None:
            x = self.residual(x, self.cross_attn_norm,
                              lambda y: self.cross_attn(y, memory_kv=memory_kv, memory_mask=memory_mask,
                                                              training=training), training)
        return self.residual(x, self.ffn_norm, lambda y: self.ffn(y, training=training), training)

    def decode(
        self, x: tf.Tensor, keys: tf.Tensor, values: tf.Tensor, position: tf.Tensor,
        memory_kv: tuple[tf.Tensor, tf.Tensor], memory_mask: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One token per row through the block, reading and extending this layer's cache buffers."""
        buffers = []

        def attend_cached(y: tf.Tensor) -> tf.Tensor:
            out, k, v = self.self_attn.decode(y, keys, values, position)
            buffers.extend((k, v))
            return out

        x = self.residual(x, self.self_attn_norm, attend_cached, False)
        x = self.residual(x, self.cross_attn_norm,
                          lambda y: self.cross_attn(y, memory_kv=memory_kv, memory_mask=memory_mask), False)
        return self.residual(x, self.ffn_norm, self.ffn, False), buffers[0], buffers[1]

    def residual(self, x: tf.Tensor, norm: LayerNorm, f: Callable, training: bool) -> tf.Tensor:
        if self.norm_first:
            return x + self.dropout(f(norm(x)), training=training)
        return norm(x + self.dropout(f(x), training=training))
