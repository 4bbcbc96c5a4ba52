"""Threads that share one model (a server's workers) each get what their call would give alone.

A call fits the decoder to its row count and compute type (packed, int8 copies) and keeps that copy for the
next call; calls of other shapes replace it while the first is still decoding. Nothing a call needs may
live on the shared modules."""

from __future__ import annotations

import threading

import torch

from tests.conftest import padded_batch
from tests.test_dropping_rows import EOS, tiny_model
from warmseq.modeling import linear, packed, stack
from warmseq.modeling.kernel_plan import ROW_BUCKETS, SHAPES, KernelPlan
from warmseq.modeling.products import has_onednn

ROUNDS = 3


def every_path_plan() -> KernelPlan:
    """Packed copies, the bf16 screen and row sums wherever this machine runs them."""
    first = "packed" if has_onednn() else "halves"
    ranking = [first] + [path for path in ("packed", "halves", "onednn", "linear") if path != first]
    every = [True] * len(ROW_BUCKETS)
    return KernelPlan({kind: [list(ranking) for _ in ROW_BUCKETS] for kind in SHAPES}, {}, screening=every,
                      bags=every)


def test_threads_sharing_a_model_get_what_each_call_gives_alone(monkeypatch):
    plan = every_path_plan()
    for module in (packed, linear, stack):
        monkeypatch.setattr(module, "current_plan", lambda: plan)
    model = tiny_model()
    ids, mask = padded_batch(99, batch=6, length=10)
    settings = dict(max_new_tokens=12, decoder_start_token_id=1, eos_token_id=EOS, pad_token_id=0)
    calls = [  # row counts 1, 6, 6 and 4: each replaces the others' kept copies
        (ids[:1], mask[:1], {}),
        (ids, mask, dict(no_repeat_ngram_size=2)),
        (ids[:2], mask[:2], dict(num_beams=3)),
        (ids[2:6], mask[2:6], dict(compute_type="int8")),
    ]
    alone = [model.generate(i, attention_mask=m, **settings, **kw) for i, m, kw in calls]
    together: dict[int, list[torch.Tensor]] = {index: [] for index in range(len(calls))}
    failures: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def worker(first: int) -> None:
        order = [(first + shift) % len(calls) for shift in range(len(calls))] * ROUNDS
        try:
            start.wait()
            for index in order:
                source, source_mask, kwargs = calls[index]
                together[index].append(model.generate(source, attention_mask=source_mask, **settings, **kwargs))
        except BaseException as error:  # noqa: BLE001 - reported below, with the thread's traceback
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(first,)) for first in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    for index, outputs in together.items():
        assert len(outputs) == len(calls) * ROUNDS
        assert all(torch.equal(output, alone[index]) for output in outputs), f"call {index} differs in a thread"
