"""Declarative maps between our parameter names and a checkpoint's key names.

A `KeyRule` ties one of our tensors to one or more checkpoint tensors, with a transform each way
(rename, fuse q/k/v, transpose), so loading is `join` and saving is `split`: the same map run backwards.
The transforms work on PyTorch tensors and NumPy arrays alike (`arrays`), so every framework shares them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from warmseq.checkpoints import arrays
from warmseq.checkpoints.arrays import Array as Tensor  # a torch tensor or a NumPy array

logger = logging.getLogger(__name__)


def _only(parts: list[Tensor]) -> Tensor:
    return parts[0]


def _as_list(tensor: Tensor) -> list[Tensor]:
    return [tensor]


@dataclass(frozen=True)
class KeyRule:
    ours: str
    theirs: tuple[str, ...]
    join: Callable[[list[Tensor]], Tensor] = _only  # checkpoint tensors -> ours
    split: Callable[[Tensor], list[Tensor]] = _as_list  # ours -> checkpoint tensors

    def prefixed(self, ours: str, theirs: str) -> KeyRule:
        return KeyRule(ours + self.ours, tuple(theirs + t for t in self.theirs), self.join, self.split)


def rename(ours: str, theirs: str) -> KeyRule:
    return KeyRule(ours, (theirs,))


def fused(ours: str, *theirs: str) -> KeyRule:
    """Our tensor is the checkpoint's tensors concatenated along dim 0 (e.g. q, k, v -> qkv)."""
    count = len(theirs)
    return KeyRule(ours, tuple(theirs), arrays.concat, lambda t: arrays.split(t, count))


def transposed(ours: str, theirs: str) -> KeyRule:
    """Checkpoint stores (in, out) where we store (out, in) (GPT-2's Conv1D)."""
    return KeyRule(ours, (theirs,), lambda parts: arrays.transpose(parts[0]), lambda t: [arrays.transpose(t)])


def linear(ours: str, theirs: str, bias: bool = True) -> list[KeyRule]:
    """A linear (or LayerNorm) module's weight and bias, renamed."""
    rules = [rename(f"{ours}.weight", f"{theirs}.weight")]
    return rules + [rename(f"{ours}.bias", f"{theirs}.bias")] if bias else rules


def fused_linear(ours: str, *theirs: str) -> list[KeyRule]:
    """Our fused projection (qkv, kv) from the checkpoint's separate ones, weight and bias."""
    return [fused(f"{ours}.{p}", *(f"{t}.{p}" for t in theirs)) for p in ("weight", "bias")]


@dataclass(frozen=True)
class KeyMap:
    rules: tuple[KeyRule, ...]
    derived: frozenset[str] = frozenset()  # checkpoint keys that copy another (tied); skipped both ways
    ignored_suffixes: tuple[str, ...] = ("position_ids",)  # buffers some writers save; never used
    base_prefix: str = ""  # e.g. "bert." in a head model's keys; see align_prefix
    # checkpoint subtrees this model knowingly leaves unread (BART's decoder half under a BART encoder)
    unused_prefixes: tuple[str, ...] = ()

    def prefixed(self, ours: str, theirs: str) -> KeyMap:
        return KeyMap(tuple(r.prefixed(ours, theirs) for r in self.rules),
                      frozenset(theirs + k for k in self.derived), self.ignored_suffixes, "",
                      tuple(theirs + p for p in self.unused_prefixes))

    def __add__(self, other: KeyMap) -> KeyMap:
        return KeyMap(self.rules + other.rules, self.derived | other.derived,
                      tuple(dict.fromkeys(self.ignored_suffixes + other.ignored_suffixes)), "",
                      self.unused_prefixes + other.unused_prefixes)


@dataclass
class LoadReport:
    """What a load did: checkpoint keys that were absent (left newly initialised), unused, or misshapen."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    mismatched_keys: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        return {"missing_keys": self.missing_keys, "unexpected_keys": self.unexpected_keys,
                "mismatched_keys": self.mismatched_keys, "error_msgs": []}

    def is_clean(self) -> bool:
        return not (self.missing_keys or self.unexpected_keys or self.mismatched_keys)

    def table(self, model_name: str, source: str) -> str:
        """The report for people: counts, then the keys with repeated layers folded into one line each
        (`bert.encoder.layer.{0..5}.crossattention.self.query.weight`)."""
        rows = [f"{model_name} loaded from {source}:"]
        sections = (("newly initialised (not in the checkpoint)", self.missing_keys),
                    ("unused (in the checkpoint, not in the model)", self.unexpected_keys))
        for title, keys in sections:
            if keys:
                rows.append(f"  {title}: {len(keys)}")
                rows.extend(f"    {key}" for key in fold_layers(keys))
        if self.mismatched_keys:
            rows.append(f"  shape mismatch (kept newly initialised): {len(self.mismatched_keys)}")
            shapes = [f"{k}: checkpoint {list(c)} vs model {list(m)}" for k, c, m in self.mismatched_keys]
            rows.extend(f"    {line}" for line in fold_layers(shapes))
        if len(rows) == 1:
            rows.append("  every weight matched")
        return "\n".join(rows)


LAYER_INDEX = re.compile(r"\.(\d+)\.")  # the first numbered path component: a layer (`layer.3.`, `h.3.`)


def fold_layers(keys: Iterable[str]) -> list[str]:
    """Keys that differ only in their layer number, as one line each, in order of first appearance:
    `a.layer.0.q`, `a.layer.1.q` -> `a.layer.{0..1}.q` (gaps are listed: `{0,2,5}`)."""
    groups: dict[str, list[int]] = {}
    for key in keys:
        found = LAYER_INDEX.search(key)
        if found is None:
            groups.setdefault(key, [])
            continue
        pattern = f"{key[: found.start()]}.\0.{key[found.end():]}"  # \0 marks where the layer number was
        groups.setdefault(pattern, []).append(int(found.group(1)))
    lines = []
    for pattern, layers in groups.items():
        if not layers:
            lines.append(pattern)
        elif len(layers) == 1:
            lines.append(pattern.replace("\0", str(layers[0])))
        else:
            lines.append(pattern.replace("\0", "{" + layer_ranges(sorted(set(layers))) + "}"))
    return lines


def layer_ranges(layers: list[int]) -> str:
    """[0, 1, 2, 3] -> "0..3"; other lists are written out: [0, 2, 5] -> "0,2,5"."""
    if layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}..{layers[-1]}"
    return ",".join(str(layer) for layer in layers)


def align_prefix(keys: Iterable[str], key_map: KeyMap, expects_prefix: bool) -> dict[str, str]:
    """Checkpoint key -> key in the map's layout, adding or removing the base-model prefix.

    A head model (keys `bert.*`) can load a bare base-model checkpoint (keys `embeddings.*`) and
    a base model can load a head model's checkpoint."""
    prefix = key_map.base_prefix
    keys = list(keys)
    if not prefix:
        return {k: k for k in keys}
    has_prefix = any(k.startswith(prefix) for k in keys)
    if expects_prefix and not has_prefix:
        return {k: prefix + k for k in keys}
    if not expects_prefix and has_prefix:
        return {k: k[len(prefix):] if k.startswith(prefix) else k for k in keys}
    return {k: k for k in keys}


def apply_load(
    key_map: KeyMap,
    checkpoint: dict[str, Tensor],
    expected: dict[str, Tensor],
    aliases: dict[str, tuple[str, ...]] | None = None,
) -> tuple[dict[str, Tensor], LoadReport]:
    """Tensors for our names from `checkpoint` (already prefix-aligned), and a report.

    `expected` holds our current tensors (for shapes); rules whose parts are missing are skipped.
    `aliases` names our other names of a shared tensor (a tied encoder-decoder pair): the checkpoint
    needs to hold it under one of them only."""
    report = LoadReport()
    ours: dict[str, Tensor] = {}
    used: set[str] = set()
    absent: list[KeyRule] = []
    for rule in key_map.rules:
        present = [k for k in rule.theirs if k in checkpoint]
        if len(present) < len(rule.theirs):
            absent.append(rule)  # its present parts (q of a fused q/k/v) stay unused and are reported so
            continue
        used.update(present)
        tensor = rule.join([checkpoint[k] for k in rule.theirs])
        target = expected[rule.ours]
        if tensor.shape != target.shape:
            shape = tuple(checkpoint[rule.theirs[0]].shape)
            model_shape = tuple(rule.split(target)[0].shape)
            report.mismatched_keys.extend((k, shape, model_shape) for k in rule.theirs)
            continue
        ours[rule.ours] = tensor
    for rule in absent:
        if not any(name in ours for name in (aliases or {}).get(rule.ours, ())):
            report.missing_keys.extend(rule.theirs)  # all of them: none was loaded
    for key in checkpoint:
        if key in used or key in key_map.derived or key.endswith(key_map.ignored_suffixes):
            continue
        if key.startswith(key_map.unused_prefixes):
            continue
        report.unexpected_keys.append(key)
    report.unexpected_keys.sort()
    return ours, report


def apply_save(key_map: KeyMap, state: dict[str, Tensor]) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for rule in key_map.rules:
        for key, tensor in zip(rule.theirs, rule.split(state[rule.ours]), strict=True):
            out[key] = tensor
    return out
