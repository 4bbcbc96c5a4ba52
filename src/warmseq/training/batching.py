"""Length-bucketed batches: deterministic per (seed, epoch), split across ranks, resumable by position."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .tokenized import TokenizedPairs

IGNORED_LABEL = -100


@dataclass(frozen=True)
class DataPosition:
    """Where the next micro-batch comes from: an epoch and an index into that epoch's global batches."""

    epoch: int = 0
    batch_index: int = 0

    def to_json_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch_index": self.batch_index}

    @classmethod
    def from_json_dict(cls, values: dict[str, int]) -> DataPosition:
        return cls(epoch=int(values["epoch"]), batch_index=int(values["batch_index"]))


@dataclass
class TokenBatch:
    """One padded micro-batch. input_ids/attention_mask: (batch, source_len); labels: (batch, target_len)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor

    @property
    def target_token_count(self) -> int:
        return int((self.labels != IGNORED_LABEL).sum())

    @property
    def token_count(self) -> int:
        return int(self.attention_mask.sum()) + self.target_token_count

    def to(self, device: torch.device | str) -> TokenBatch:
        return TokenBatch(self.input_ids.to(device), self.attention_mask.to(device), self.labels.to(device))


def pad_batch(pairs: TokenizedPairs, indices: list[int], pad_token_id: int) -> TokenBatch:
    """Right-pad sources with `pad_token_id` and labels with -100."""
    source_len = max(len(pairs.sources[i]) for i in indices)
    target_len = max(len(pairs.labels[i]) for i in indices)
    input_ids = torch.full((len(indices), source_len), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(indices), source_len), dtype=torch.long)
    labels = torch.full((len(indices), target_len), IGNORED_LABEL, dtype=torch.long)
    for row, index in enumerate(indices):
        source = torch.from_numpy(pairs.sources[index])
        label = torch.from_numpy(pairs.labels[index])
        input_ids[row, : len(source)] = source
        attention_mask[row, : len(source)] = 1
        labels[row, : len(label)] = label
    return TokenBatch(input_ids, attention_mask, labels)


class LengthBatcher:
    """Plan batches of similar length so that padding stays low.

    Each epoch shuffles the examples with a generator seeded by (seed, epoch), sorts pools of
    `pool_batches` global batches by length, cuts them into global batches and shuffles the batch
    order. A global batch holds `batch_size * world_size` examples (or a budget of
    `max_tokens * world_size` padded tokens); rank r takes the r-th contiguous slice of it, so a
    single process with `world_size` times the batch sees the same examples per step.
    """

    def __init__(
        self,
        pairs: TokenizedPairs,
        batch_size: int,
        seed: int,
        world_size: int = 1,
        max_tokens: int | None = None,
        pool_batches: int = 50,
    ) -> None:
        self.pairs = pairs
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.seed = seed
        self.world_size = world_size
        self.pool_batches = pool_batches
        self.lengths = pairs.source_lengths() + pairs.label_lengths()
        self.sort_keys = pairs.source_lengths() * 4096 + pairs.label_lengths()
        self._plans: dict[int, list[np.ndarray]] = {}
        if len(pairs) < world_size:
            raise ValueError(f"{len(pairs)} training examples cannot be shared by {world_size} ranks")

    def epoch_plan(self, epoch: int) -> list[np.ndarray]:
        """Global batches of `epoch` as arrays of example indices."""
        if epoch not in self._plans:
            self._plans = {epoch: self.plan_epoch(epoch)}
        return self._plans[epoch]

    def plan_epoch(self, epoch: int) -> list[np.ndarray]:
        generator = np.random.default_rng([self.seed, epoch])
        order = generator.permutation(len(self.pairs))
        pool_size = self.pool_batches * self.batch_size * self.world_size
        batches: list[np.ndarray] = []
        for start in range(0, len(order), pool_size):
            pool = order[start : start + pool_size]
            pool = pool[np.argsort(self.sort_keys[pool], kind="stable")]
            pool_batches = self.cut_batches(pool)
            generator.shuffle(pool_batches)
            batches.extend(pool_batches)
        return [batch for batch in batches if len(batch) >= self.world_size]

    def cut_batches(self, sorted_pool: np.ndarray) -> list[np.ndarray]:
        if self.max_tokens is None:
            size = self.batch_size * self.world_size
            return [sorted_pool[i : i + size] for i in range(0, len(sorted_pool), size)]
        budget = self.max_tokens * self.world_size
        batches: list[np.ndarray] = []
        start = 0
        longest = 0
        for end, index in enumerate(sorted_pool):
            longest = max(longest, int(self.lengths[index]))
            count = end - start + 1
            if end > start and longest * count > budget:
                batches.append(sorted_pool[start:end])
                start, longest = end, int(self.lengths[index])
        batches.append(sorted_pool[start:])
        return batches

    def rank_slice(self, global_batch: np.ndarray, rank: int) -> list[int]:
        bounds = np.linspace(0, len(global_batch), self.world_size + 1).astype(int)
        return global_batch[bounds[rank] : bounds[rank + 1]].tolist()

    def batch_at(self, position: DataPosition, rank: int, pad_token_id: int) -> tuple[TokenBatch, DataPosition]:
        """The micro-batch at `position` for `rank`, and the position after it (epochs roll over)."""
        plan = self.epoch_plan(position.epoch)
        if not plan:
            raise ValueError(f"no complete batch can be formed from {len(self.pairs)} training examples")
        if position.batch_index >= len(plan):
            position = DataPosition(position.epoch + 1, 0)
            plan = self.epoch_plan(position.epoch)
        indices = self.rank_slice(plan[position.batch_index], rank)
        batch = pad_batch(self.pairs, indices, pad_token_id)
        return batch, DataPosition(position.epoch, position.batch_index + 1)
