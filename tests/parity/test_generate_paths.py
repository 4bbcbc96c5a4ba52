"""generate() gives the peer's tokens whichever CPU product path the kernel plan picks, at every row count."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import padded_batch
from tests.parity.test_generate import SPECIAL, pair  # noqa: F401  (pair is a fixture)
from warmseq.modeling import kernel_plan, linear, packed, stack
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan
from warmseq.modeling.memory_bags import MemoryBags
from warmseq.modeling.products import has_onednn


def plan_with_first(first: str) -> KernelPlan:
    ranking = [first] + [p for p in ("packed", "onednn", "halves", "linear") if p != first]
    return KernelPlan({kind: [list(ranking) for _ in ROW_BUCKETS] for kind in kernel_plan.SHAPES}, {})


@pytest.mark.parametrize("first", ["linear", "halves", "onednn", "packed"])
@pytest.mark.parametrize("batch, kwargs", [(1, dict(max_new_tokens=12)), (12, dict(max_new_tokens=12)),
                                           (3, dict(num_beams=4, max_new_tokens=10))])
def test_every_path_gives_the_peers_tokens(pair, first, batch, kwargs, monkeypatch):  # noqa: F811
    if first in ("onednn", "packed") and not has_onednn():
        pytest.skip("no oneDNN here")
    plan = plan_with_first(first)
    monkeypatch.setattr(linear, "current_plan", lambda: plan)
    monkeypatch.setattr(packed, "current_plan", lambda: plan)
    assert_peer_tokens(pair, batch, kwargs)


@pytest.mark.parametrize("bags", [True, False])
@pytest.mark.parametrize("batch, kwargs", [(1, dict(max_new_tokens=12)), (12, dict(max_new_tokens=12)),
                                           (3, dict(num_beams=4, max_new_tokens=10))])
def test_cross_attention_by_bags_or_products_gives_the_peers_tokens(pair, bags, batch, kwargs,  # noqa: F811
                                                                     monkeypatch):
    plan = KernelPlan.plain()
    plan.bags = [bags] * len(ROW_BUCKETS)
    monkeypatch.setattr(stack, "current_plan", lambda: plan)
    calls = []  # a call's cache with row sums (whichever step reads it: `Block.step` or `flat_step`)
    real = MemoryBags.build
    monkeypatch.setattr(MemoryBags, "build", staticmethod(lambda *args: calls.append(1) or real(*args)))
    assert_peer_tokens(pair, batch, kwargs)
    assert bool(calls) == bags


def assert_peer_tokens(pair, batch: int, kwargs: dict) -> None:  # noqa: F811
    """Padded sources of `batch` rows: warmseq's generate() gives the peer's tokens."""
    peer, ours = pair
    torch.manual_seed(2)
    ids, mask = padded_batch(99, batch=batch, length=2 * batch + 4)
    with torch.no_grad():
        expected = peer.generate(input_ids=ids, attention_mask=mask, **SPECIAL, **kwargs)
    assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs), expected)
