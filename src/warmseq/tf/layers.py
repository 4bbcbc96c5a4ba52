"""The layers that hold weights (Linear, LayerNorm, Embedding), named as the PyTorch side names them.

Every other layer of the port is built from these three, so one walk over a model (`torch_variables`)
lists its variables under the PyTorch side's state-dict names, which the shared key maps translate to
checkpoint keys. A `Linear` keeps Keras's (in, out) kernel; it is listed as `weight`, transposed.
"""

from __future__ import annotations

from collections.abc import Iterator

import keras
import tensorflow as tf


def normal(std: float) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=std)


class Linear(keras.layers.Layer):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, std: float = 0.02, **kw) -> None:
        super().__init__(**kw)
        self.kernel = self.add_weight(shape=(in_features, out_features), initializer=normal(std), name="kernel")
        self.bias = self.add_weight(shape=(out_features,), initializer="zeros", name="bias") if bias else None
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        y = tf.matmul(x, self.kernel) if x.shape.rank == 2 else tf.einsum("...i,io->...o", x, self.kernel)
        return y + self.bias if self.bias is not None else y

    def torch_names(self) -> dict[str, tuple[keras.Variable, bool]]:
        names = {"weight": (self.kernel, True)}
        return {**names, "bias": (self.bias, False)} if self.bias is not None else names


class LayerNorm(keras.layers.Layer):
    def __init__(self, width: int, eps: float, **kw) -> None:
        super().__init__(**kw)
        self.eps = eps
        self.weight = self.add_weight(shape=(width,), initializer="ones", name="weight")
        self.bias = self.add_weight(shape=(width,), initializer="zeros", name="bias")
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + self.eps) * self.weight + self.bias

    def torch_names(self) -> dict[str, tuple[keras.Variable, bool]]:
        return {"weight": (self.weight, False), "bias": (self.bias, False)}


class Embedding(keras.layers.Layer):
    """A (rows, width) table; `call` gathers rows."""

    def __init__(self, rows: int, width: int, std: float = 0.02, **kw) -> None:
        super().__init__(**kw)
        self.weight = self.add_weight(shape=(rows, width), initializer=normal(std), name="weight")
        self.built = True

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.weight, ids)

    def torch_names(self) -> dict[str, tuple[keras.Variable, bool]]:
        return {"weight": (self.weight, False)}


def torch_variables(layer: keras.layers.Layer, prefix: str = "") -> Iterator[tuple[str, keras.Variable, bool]]:
    """(PyTorch state-dict name, variable, stored transposed) for every variable under `layer`.

    Names follow attribute names: a layer held as `self.stack.layers[0].self_attn.qkv` yields
    `stack.layers.0.self_attn.qkv.weight`. A layer with extra variables of its own lists them in
    `torch_names()`. A variable reached twice (a shared pair) is listed under each of its names."""
    if hasattr(layer, "torch_names"):
        for name, (variable, transposed) in layer.torch_names().items():
            yield prefix + name, variable, transposed
    for attribute, value in vars(layer).items():
        if attribute.startswith("_"):
            continue
        if isinstance(value, keras.layers.Layer):
            yield from torch_variables(value, f"{prefix}{attribute}.")
        elif isinstance(value, list | tuple) and value and isinstance(value[0], keras.layers.Layer):
            for i, item in enumerate(value):
                yield from torch_variables(item, f"{prefix}{attribute}.{i}.")


def leaf_layers(layer: keras.layers.Layer, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer, str]]:
    """(path, parent layer, attribute) of every weight-holding layer under `layer` (for sharing)."""
    for attribute, value in vars(layer).items():
        if attribute.startswith("_"):
            continue
        items = [(attribute, value)] if isinstance(value, keras.layers.Layer) else []
        if isinstance(value, list | tuple) and value and isinstance(value[0], keras.layers.Layer):
            items = [(f"{attribute}.{i}", item) for i, item in enumerate(value)]
        for name, item in items:
            if hasattr(item, "torch_names"):
                yield prefix + name, layer, name
            else:
                yield from leaf_layers(item, f"{prefix}{name}.")
