from __future__ import annotations

import logging

import numpy as np
import torch

from warmseq.tokenization import AutoTokenizer
from warmseq.training.batching import DataPosition, LengthBatcher, pad_batch
from warmseq.training.records import TextPairs, read_text_pairs
from warmseq.training.tokenized import TokenizedPairs, tokenize_pairs


def synthetic_pairs(count: int, seed: int = 0) -> TokenizedPairs:
    generator = np.random.default_rng(seed)
    sources = [np.arange(1, generator.integers(3, 60)) for _ in range(count)]
    labels = [np.arange(5, generator.integers(7, 20)) for _ in range(count)]
    return TokenizedPairs(sources, labels, 0)


def epoch_batches(batcher: LengthBatcher, epoch: int, rank: int = 0) -> list[list[int]]:
    return [batcher.rank_slice(batch, rank) for batch in batcher.epoch_plan(epoch)]


def test_plan_is_deterministic_per_seed_and_epoch_and_covers_every_example() -> None:
    pairs = synthetic_pairs(200)
    first = epoch_batches(LengthBatcher(pairs, 8, seed=1, pool_batches=5), 0)
    assert first == epoch_batches(LengthBatcher(pairs, 8, seed=1, pool_batches=5), 0)
    assert first != epoch_batches(LengthBatcher(pairs, 8, seed=2, pool_batches=5), 0)
    assert first != epoch_batches(LengthBatcher(pairs, 8, seed=1, pool_batches=5), 1)
    assert sorted(i for batch in first for i in batch) == list(range(200))


def test_length_bucketing_pads_much_less_than_random_batches() -> None:
    pairs = synthetic_pairs(400)
    lengths = pairs.source_lengths()

    def padding(batches: list[list[int]]) -> int:
        return sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in batches)

    bucketed = epoch_batches(LengthBatcher(pairs, 8, seed=0, pool_batches=50), 0)
    shuffled = np.random.default_rng(0).permutation(400)
    random_batches = [shuffled[i : i + 8].tolist() for i in range(0, 400, 8)]
    assert padding(bucketed) < padding(random_batches) / 4


def test_token_budget_bounds_padded_tokens() -> None:
    pairs = synthetic_pairs(300)
    batcher = LengthBatcher(pairs, 8, seed=0, max_tokens=200)
    lengths = batcher.lengths
    for batch in batcher.epoch_plan(0):
        assert len(batch) == 1 or int(lengths[batch].max()) * len(batch) <= 200


def test_ranks_get_disjoint_slices_whose_union_is_the_single_process_batch() -> None:
    pairs = synthetic_pairs(101)
    two_ranks = LengthBatcher(pairs, 4, seed=5, world_size=2)
    one_rank = LengthBatcher(pairs, 8, seed=5, world_size=1)
    for global_batch, single in zip(two_ranks.epoch_plan(0), one_rank.epoch_plan(0), strict=True):
        rank0, rank1 = two_ranks.rank_slice(global_batch, 0), two_ranks.rank_slice(global_batch, 1)
        assert not set(rank0) & set(rank1)
        assert rank0 + rank1 == single.tolist()


def test_position_resumes_the_same_sequence_across_epochs() -> None:
    pairs = synthetic_pairs(30)
    batcher = LengthBatcher(pairs, 4, seed=0)
    position = DataPosition()
    straight = []
    for _ in range(20):  # 8 batches per epoch: crosses two epoch boundaries
        batch, position = batcher.batch_at(position, 0, pad_token_id=0)
        straight.append(batch.input_ids)
    resumed_position = DataPosition.from_json_dict(DataPosition(1, 3).to_json_dict())
    fresh = LengthBatcher(pairs, 4, seed=0)
    for expected in straight[11:]:
        batch, resumed_position = fresh.batch_at(resumed_position, 0, pad_token_id=0)
        assert torch.equal(batch.input_ids, expected)


def test_padding_uses_pad_id_for_sources_and_minus_100_for_labels() -> None:
    pairs = TokenizedPairs([np.array([5, 6, 7]), np.array([8])], [np.array([9, 3]), np.array([3])], 0)
    batch = pad_batch(pairs, [0, 1], pad_token_id=0)
    assert batch.input_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch.attention_mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch.labels.tolist() == [[9, 3], [3, -100]]
    assert batch.target_token_count == 3


def test_tokenize_truncates_and_counts_long_targets(vocab_folder, data_files, caplog) -> None:
    tokenizer = AutoTokenizer.from_pretrained(vocab_folder)
    texts = read_text_pairs(data_files[0], "text", "summary")
    texts = TextPairs(texts.path, texts.sources[:20], texts.targets[:20])
    with caplog.at_level(logging.INFO):
        tokens = tokenize_pairs(texts, tokenizer, tokenizer, max_source_length=16, max_target_length=4, eos_token_id=3)
    assert max(len(ids) for ids in tokens.sources) == 16
    assert all(ids[0] == 2 and ids[-1] == 3 for ids in tokens.sources)  # [CLS] ... [SEP]
    assert len(tokens.labels) == len(tokens.sources) == 20
    assert all(len(ids) <= 4 and ids[-1] == 3 and 2 not in ids for ids in tokens.labels)
    assert tokens.truncated_targets > 0
    assert f"{tokens.truncated_targets} of 20 targets were longer than 4 tokens" in caplog.text
