"""The static-shape decode step: one graph for every step of a call, compiled once (torch.compile).

The dynamic step (`DecoderCache`) attends to the filled part of the cache, so its shapes grow by one key a
step; in eager mode on CPU that is the fastest step there is. A static step attends to the cache's whole
capacity with the unwritten slots masked (`StaticDecoderCache`), so every step has the same shapes and
torch.compile traces it once; on CUDA, mode "reduce-overhead" replays it as a CUDA graph, which removes
the launch cost of the ~250 small kernels of a MiniLM step. A captured graph reads and writes fixed
addresses, so the cache lives as long as the model and its shapes: a call of the same shape resets and
reuses it (one call at a time per model: `StaticCaches.lock`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from warmseq.modeling.cache import StaticDecoderCache

if TYPE_CHECKING:
    from warmseq.modeling.causal_lm import CausalLM

StepFunction = Callable[["CausalLM", Tensor, StaticDecoderCache], Tensor]


def static_logits(decoder: CausalLM, tokens: Tensor, cache: StaticDecoderCache) -> Tensor:
    """Logits (rows, vocab) in float32 for one new token per row, `tokens` (rows, 1)."""
    hidden = decoder.stack.decode_static(tokens, cache)[:, -1]
    return decoder.logits(hidden).float()


_COMPILED: dict[str, StepFunction] = {}


def compile_mode(device_type: str) -> str | None:
    """CUDA graphs on CUDA; elsewhere torch.compile's default (fused kernels, no graphs to replay)."""
    return "reduce-overhead" if device_type == "cuda" else None


def step_function(device_type: str, compiled: bool) -> StepFunction:
    """`static_logits`, compiled once per device type when `compiled` (guards recompile it per shape)."""
    if not compiled:
        return static_logits
    if device_type not in _COMPILED:
        _COMPILED[device_type] = torch.compile(static_logits, mode=compile_mode(device_type), fullgraph=True,
                                               dynamic=False)
    return _COMPILED[device_type]


@dataclass
class StaticState:
    """A call's static cache and the step function that runs on it."""

    cache: StaticDecoderCache
    run: StepFunction
    decoder: CausalLM
    graphs: bool  # CUDA graphs: each replay overwrites the last one's output

    def logits(self, tokens: Tensor) -> Tensor:
        """Feed `tokens` (rows, n) one position at a time (one shape for every step); the last one's logits."""
        logits = None
        for i in range(tokens.shape[1]):
            if self.graphs:
                torch.compiler.cudagraph_mark_step_begin()
            logits = self.run(self.decoder, tokens[:, i : i + 1].contiguous(), self.cache)
        assert logits is not None
        return logits.clone() if self.graphs else logits


class StaticCaches:
    """One static cache per decoder, kept while calls keep its shape (see the module's docstring)."""

    def __init__(self) -> None:
        self._kept: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, StaticDecoderCache]] = (
            weakref.WeakKeyDictionary())
        self._locks: weakref.WeakKeyDictionary[nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
        self._guard = threading.Lock()

    def lock(self, decoder: nn.Module) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(decoder, threading.Lock())

    def cache_for(self, decoder: CausalLM, rows: int, capacity: int, memory: Tensor,
                  memory_mask: Tensor | None) -> StaticDecoderCache:
        memory_kv, mask = decoder.stack.memory_state(memory, memory_mask)
        key = (rows, capacity, tuple(memory_kv[0][0].shape), None if mask is None else tuple(mask.shape),
               memory_kv[0][0].dtype, memory_kv[0][0].device)
        kept = self._kept.get(decoder)
        if kept is not None and kept[0] == key:
            cache = kept[1]
            cache.reset(memory_kv, mask)
            return cache
        cache = decoder.stack.new_static_cache(rows, capacity, memory_kv, mask)
        if cache.buffer.device.type == "cuda":
            for tensor in cache.static_tensors():
                torch._dynamo.mark_static_address(tensor, guard=False)
        self._kept[decoder] = (key, cache)
        return cache


STATIC_CACHES = StaticCaches()


def uses_static_step(cache_implementation: str | None, device: torch.device) -> bool:
    """The config's choice; unset, static on CUDA (where compiled graphs pay) and dynamic elsewhere."""
    if cache_implementation is None:
        return device.type == "cuda"
    return cache_implementation == "static"
