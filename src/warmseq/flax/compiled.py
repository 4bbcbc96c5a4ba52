"""Calls of a model method outside `jax.jit` run as one compiled XLA program, not op by op.

Op by op, JAX compiles every operation of a new shape on its own (seconds for a first forward pass on a
small CPU); one program per method, settings and input shapes costs one compilation and runs faster after.
Inside the user's own `jax.jit` (traced inputs) the method runs as written."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import jax
from flax import nnx

# model -> {(method, settings, config) -> jitted function}; jax.jit keeps one program per input shape
COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def is_traced(values: object) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(values))


def call_compiled(model: nnx.Module, method: str, arrays: dict[str, Any], settings: dict[str, Any]) -> Any:
    """`getattr(model, method)(**arrays, **settings)` as one compiled program; `arrays` are pytrees of arrays
    (or None), `settings` hashable values fixed at compile time."""
    by_key = COMPILED.setdefault(model, {})
    # the config is read while tracing (special ids, ...): a changed config is a new program
    key = (method, tuple(sorted(settings.items())), model.config.to_json_string())
    if key not in by_key:
        by_key[key] = jax.jit(bound_method(nnx.graphdef(model), method, settings))
    return by_key[key](nnx.state(model), arrays)


def bound_method(graphdef: nnx.GraphDef, method: str, settings: dict[str, Any]) -> Callable[..., Any]:
    def run(state: nnx.State, arrays: dict[str, Any]) -> Any:
        return getattr(nnx.merge(graphdef, state), method)(**arrays, **settings)

    return run
