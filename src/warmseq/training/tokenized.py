"""Turn text pairs into token id arrays: sources for the encoder, labels for the decoder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .records import TextPairs

logger = logging.getLogger(__name__)

TOKENIZE_CHUNK = 2048


class TextTokenizer(Protocol):
    def __call__(self, text: Any, **options: Any) -> Any: ...


@dataclass(frozen=True)
class TokenizedPairs:
    """Token ids of every example: `sources[i]` for the encoder, `labels[i]` ends with the end token."""

    sources: list[np.ndarray]
    labels: list[np.ndarray]
    truncated_targets: int

    def __len__(self) -> int:
        return len(self.sources)

    def source_lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.sources), dtype=np.int64, count=len(self.sources))

    def label_lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.labels), dtype=np.int64, count=len(self.labels))


def tokenize_texts(tokenizer: TextTokenizer, texts: list[str], **options: Any) -> list[list[int]]:
    ids: list[list[int]] = []
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        encoded = tokenizer(texts[start : start + TOKENIZE_CHUNK], **options)
        ids.extend(encoded["input_ids"])
    return ids


def tokenize_pairs(
    pairs: TextPairs,
    source_tokenizer: TextTokenizer,
    target_tokenizer: TextTokenizer,
    max_source_length: int,
    max_target_length: int,
    eos_token_id: int,
) -> TokenizedPairs:
    """Tokenise sources (with the encoder's special tokens, truncated) and targets.

    A target becomes its tokens without special tokens, cut to `max_target_length - 1`, then the end
    token: the model shifts labels right behind the decoder start token, so the start token is not a label.
    """
    source_ids = tokenize_texts(source_tokenizer, pairs.sources, truncation=True, max_length=max_source_length)
    target_ids = tokenize_texts(target_tokenizer, pairs.targets, add_special_tokens=False)
    check_not_empty(pairs, target_ids, source_ids, len(tokenize_texts(source_tokenizer, [""])[0]))
    kept_target_tokens = max_target_length - 1
    truncated = sum(len(ids) > kept_target_tokens for ids in target_ids)
    if truncated:
        logger.info(
            "%s: %d of %d targets were longer than %d tokens and were truncated",
            pairs.path,
            truncated,
            len(target_ids),
            max_target_length,
        )
    sources = [np.asarray(ids, dtype=np.int64) for ids in source_ids]
    labels = [np.asarray([*ids[:kept_target_tokens], eos_token_id], dtype=np.int64) for ids in target_ids]
    return TokenizedPairs(sources, labels, truncated)


def check_not_empty(
    pairs: TextPairs, target_ids: list[list[int]], source_ids: list[list[int]], special_only: int
) -> None:
    """Stop on a file with nothing to learn (every target without tokens, or every source holding only
    its special tokens); warn when most targets are empty. `special_only`: the length of an empty source."""
    count = len(target_ids)
    empty_targets = sum(not ids for ids in target_ids)
    if empty_targets == count:
        raise ValueError(
            f"data file {pairs.path}: all {count} targets are empty (no tokens); nothing to train on. "
            "Check --target-field"
        )
    if sum(len(ids) <= special_only for ids in source_ids) == count:
        raise ValueError(
            f"data file {pairs.path}: all {count} sources are empty after tokenizing and truncation; "
            "check --source-field and --max-source-length"
        )
    if empty_targets * 2 > count:
        logger.warning("data file %s: %d of %d targets are empty; the model learns to stop at once on those",
                       pairs.path, empty_targets, count)


def tokenize_sources(pairs: TextPairs, source_tokenizer: TextTokenizer, max_source_length: int) -> TokenizedPairs:
    """Sources only, for generating: each label is empty, and no target is read or counted as truncated."""
    source_ids = tokenize_texts(source_tokenizer, pairs.sources, truncation=True, max_length=max_source_length)
    sources = [np.asarray(ids, dtype=np.int64) for ids in source_ids]
    return TokenizedPairs(sources, [np.zeros(0, dtype=np.int64)] * len(sources), 0)
