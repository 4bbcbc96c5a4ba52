"""The kernel plan: measured once per machine into the cache folder, valid without oneDNN, off by switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
import torch

from warmseq.modeling import calibration, kernel_plan, kernel_timing, products
from warmseq.modeling.calibration import plan_for
from warmseq.modeling.kernel_plan import ROW_BUCKETS, KernelPlan, bucket_of
from warmseq.modeling.kernel_timing import calibrate

SMALL = {"head": (512, 16), "up": (48, 16), "down": (16, 48)}


def small_calibration(*_args, **_kwargs) -> KernelPlan:
    return calibrate(SMALL, evicting_bytes=2**16, passes=1, training_shapes=((64, 96, 32), (64, 32, 96)),
                     cross_attention_shape=(2, 8, 4))


@pytest.fixture
def fresh_plans(tmp_path, monkeypatch):
    monkeypatch.setenv(calibration.ENV_CACHE_DIR, str(tmp_path))
    monkeypatch.delenv(calibration.ENV_SWITCH, raising=False)
    plan_for.cache_clear()
    yield tmp_path
    plan_for.cache_clear()


def test_plan_is_measured_once_and_kept_in_the_cache_folder(fresh_plans, monkeypatch):
    monkeypatch.setattr(calibration, "calibrate", small_calibration)
    plan = calibration.current_plan()
    files = list(fresh_plans.glob("kernel-plan-*.json"))
    assert len(files) == 1 and torch.__version__ in plan.machine
    plan_for.cache_clear()
    monkeypatch.setattr(calibration, "calibrate", lambda *a, **k: pytest.fail("the kept plan is read, not remeasured"))
    assert calibration.current_plan().rankings == plan.rankings


def test_an_unreadable_plan_file_is_measured_again(fresh_plans, monkeypatch):
    monkeypatch.setattr(calibration, "calibrate", small_calibration)
    calibration.plan_file(calibration.machine_key()).write_text("{not json")
    plan = calibration.current_plan()
    assert len(plan.rankings["head"]) == len(ROW_BUCKETS)
    assert KernelPlan.from_json(calibration.plan_file(calibration.machine_key()).read_text()).rankings == plan.rankings


def test_every_path_is_ranked_where_onednn_runs():
    if not products.has_onednn():
        pytest.skip("oneDNN's product does not run here")
    plan = small_calibration()
    for kind in SMALL:
        assert len(plan.rankings[kind]) == len(ROW_BUCKETS)
        for ranking in plan.rankings[kind]:
            assert sorted(ranking) == sorted(products.PATHS)
    assert set(plan.timings_ms["training"][0]) == {"linear", "onednn"}
    assert plan.training_path == min(plan.timings_ms["training"][0], key=plan.timings_ms["training"][0].get)


def test_the_training_path_is_timed_on_every_shape_by_every_path(monkeypatch):
    seen = []

    def recording(product):
        def run(x, weight, bias):
            seen.append((product.__name__, tuple(weight.shape)))
            return product(x, weight, bias)
        run.__name__ = product.__name__
        return run

    monkeypatch.setattr(kernel_timing.torch.nn.functional, "linear", recording(torch.nn.functional.linear))
    monkeypatch.setattr(kernel_timing, "onednn_training_linear", recording(kernel_timing.onednn_training_linear))
    shapes = ((8, 12, 4), (8, 4, 12))
    times = kernel_timing.time_training_paths(shapes, passes=2)
    paths = {"linear": "linear", "onednn_training_linear": "onednn"}
    expected = {(name, (out, inner)) for name, path in paths.items() if path in times for _, out, inner in shapes}
    assert len(expected) == 2 * len(times) and set(seen) == expected


def test_the_plan_can_be_measured_inside_inference_mode():
    """The first measurement usually happens inside generate(), under inference_mode: the training paths
    (which need autograd) must still be timed there."""
    with torch.inference_mode():
        plan = small_calibration()
    assert set(plan.timings_ms["training"][0]) == ({"linear", "onednn"} if products.has_onednn() else {"linear"})
    assert all(ms > 0 for ms in plan.timings_ms["training"][0].values())


def test_a_plan_of_the_old_format_is_measured_again(fresh_plans, monkeypatch):
    """Format 1 had no training path: such a file is measured again, not read with a guessed one."""
    monkeypatch.setattr(calibration, "calibrate", small_calibration)
    plan = small_calibration()
    old = json.loads(plan.to_json())
    old["format"] = 1
    del old["training_path"]
    calibration.plan_file(calibration.machine_key()).write_text(json.dumps(old))
    assert calibration.current_plan().training_path in kernel_plan.TRAINING_PATHS
    kept = json.loads(calibration.plan_file(calibration.machine_key()).read_text())
    assert kept["format"] == kernel_plan.FORMAT and kept["training_path"] in kernel_plan.TRAINING_PATHS


def test_without_onednn_the_plan_holds_only_paths_that_run(monkeypatch):
    def broken(*_args):
        raise RuntimeError("could not create a primitive")  # what a build without working kernels says

    monkeypatch.setattr(products, "onednn_product", broken)
    products.has_onednn.cache_clear()
    products.has_bf16_onednn.cache_clear()
    try:
        assert not products.has_onednn()
        plan = small_calibration()
        rankings = [ranking for kind in SMALL for ranking in plan.rankings[kind]]
        assert rankings and all(set(r) == {"linear", "halves"} for r in rankings)
        assert plan.training_path == "linear" and set(plan.timings_ms["training"][0]) == {"linear"}
        assert plan.screening == [False] * len(ROW_BUCKETS)  # the screen's bf16 product is oneDNN's
        for rows in (1, 4, 12, 16, 64, 2048):
            assert plan.unpacked_path(rows, 48, 16) in ("linear", "halves")
            assert plan.unpacked_path(rows, 47, 16) == "linear"  # halves need an even output count
            assert not plan.packing_pays(rows, 48, 16)
    finally:
        products.has_onednn.cache_clear()
        products.has_bf16_onednn.cache_clear()


def test_switch_off_gives_f_linear_everywhere(fresh_plans, monkeypatch):
    monkeypatch.setenv(calibration.ENV_SWITCH, "0")
    monkeypatch.setattr(calibration, "calibrate", lambda *a, **k: pytest.fail("nothing is measured when off"))
    plan = calibration.current_plan()
    assert all(plan.unpacked_path(rows, 1152, 384) == "linear" for rows in (1, 12, 64))
    assert not any(plan.packing_pays(rows, 30522, 384) for rows in (1, 12, 64))
    assert plan.training_path == "linear"
    assert not any(plan.bags_pay(sources) for sources in (1, 12, 64))
    assert not list(fresh_plans.iterdir())


def test_row_counts_use_the_largest_bucket_at_or_below_them():
    assert [ROW_BUCKETS[bucket_of(r)] for r in (1, 3, 12, 15, 16, 63, 64, 2048)] == [1, 2, 12, 12, 16, 32, 64, 64]


def test_the_plan_says_per_row_count_whether_the_screen_pays(fresh_plans, monkeypatch):
    plan = small_calibration()
    assert len(plan.screening) == len(ROW_BUCKETS) and len(plan.timings_ms["screening"]) == len(ROW_BUCKETS)
    for bucket, timing, head in zip(plan.screening, plan.timings_ms["screening"], plan.timings_ms["head"],
                                    strict=True):
        assert bucket == (timing["screened"] < min(head.values()) + timing["row_max"])
    kept = KernelPlan.from_json(plan.to_json())
    assert kept.screening == plan.screening
    assert [kept.screening_pays(rows) for rows in ROW_BUCKETS] == [p and products.has_onednn() for p in plan.screening]
    assert not any(KernelPlan.plain().screening_pays(rows) for rows in (1, 16, 64))


def test_the_plan_says_per_source_count_whether_cross_attention_by_bags_pays():
    plan = calibrate(SMALL, evicting_bytes=2**16, passes=1, training_shapes=((64, 96, 32), (64, 32, 96)),
                     cross_attention_shape=(2, 8, 4))
    assert len(plan.bags) == len(ROW_BUCKETS) and len(plan.timings_ms["cross_attention"]) == len(ROW_BUCKETS)
    for pays, timing in zip(plan.bags, plan.timings_ms["cross_attention"], strict=True):
        assert timing["bmm"] > 0 and timing["bags"] > 0
        assert pays == (timing["bags"] < kernel_timing.BAGS_MARGIN * timing["bmm"])
    kept = KernelPlan.from_json(plan.to_json())
    assert [kept.bags_pay(sources) for sources in ROW_BUCKETS] == plan.bags
    assert not any(KernelPlan.plain().bags_pay(sources) for sources in (1, 16, 64))
    body = json.loads(plan.to_json())
    del body["bags"]  # a plan without the decision is measured again, not read with a guess
    with pytest.raises(ValueError, match="bags"):
        KernelPlan.from_json(json.dumps(body))


def test_threads_that_find_no_plan_wait_for_the_one_measuring(fresh_plans, monkeypatch):
    measured = []

    def slow_calibration(*_args, **_kwargs) -> KernelPlan:
        measured.append(threading.get_ident())
        time.sleep(0.3)  # the other threads ask while this one measures
        return small_calibration()

    monkeypatch.setattr(calibration, "calibrate", slow_calibration)
    start, plans = threading.Barrier(3), []

    def ask() -> None:
        start.wait()
        plans.append(plan_for("1", torch.get_num_threads()))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(plans) == 3 and len(measured) == 1
    assert all(plan.rankings == plans[0].rankings for plan in plans)


# each child waits until all have started, then asks for the plan; a measurement leaves a file named by its pid
PLAN_CHILD = """
import json, os, sys, time
from pathlib import Path
from warmseq.modeling import calibration
folder, children = Path(os.environ["WARMSEQ_CACHE_DIR"]), int(sys.argv[1])
measure = calibration.calibrate
def slow_calibration(*args, **kwargs):
    (folder / f"measured-{os.getpid()}").touch()
    time.sleep(1.0)
    return measure({"head": (512, 16), "up": (48, 16), "down": (16, 48)}, evicting_bytes=2**16, passes=1,
                   training_shapes=((64, 96, 32), (64, 32, 96)), cross_attention_shape=(2, 8, 4))
calibration.calibrate = slow_calibration
(folder / f"ready-{os.getpid()}").touch()
deadline = time.monotonic() + 120
while len(list(folder.glob("ready-*"))) < children and time.monotonic() < deadline:
    time.sleep(0.01)
print(json.dumps(calibration.current_plan().rankings))
"""


def test_processes_that_find_no_plan_wait_for_the_one_measuring(tmp_path):
    # a torchrun job or a server's workers start together on a fresh machine: one measures, the others read
    env = {**os.environ, calibration.ENV_CACHE_DIR: str(tmp_path)}
    env.pop(calibration.ENV_SWITCH, None)
    children = [subprocess.Popen([sys.executable, "-c", PLAN_CHILD, "3"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], [err for _, err in outputs]
    assert len(list(tmp_path.glob("ready-*"))) == 3
    assert len(list(tmp_path.glob("measured-*"))) == 1
    assert len({out for out, _ in outputs}) == 1 and json.loads(outputs[0][0])["head"]


def test_a_path_is_timed_by_its_fastest_pass_after_a_warm_up():
    # the first call of a path is slow (kernel choice, allocation), and another process may hold the core for
    # one pass: neither may decide the ranking, which is kept for good
    calls = []

    def run() -> None:
        calls.append(None)
        time.sleep(0.05 if len(calls) in (1, 3) else 0.002)  # the warm-up and the second timed pass are slow

    best = kernel_timing.best_of_passes({"path": run}, passes=3)
    assert len(calls) == 4 and 0.002 <= best["path"] < 0.02


def test_measuring_again_replaces_the_kept_plan(fresh_plans, monkeypatch):
    monkeypatch.setattr(calibration, "calibrate", small_calibration)
    first = calibration.current_plan()
    path = calibration.plan_file(calibration.machine_key())
    body = json.loads(path.read_text())
    body["timings_ms"]["head"][0]["linear"] = -1.0  # a mark the next measurement cannot leave
    path.write_text(json.dumps(body))
    again = calibration.measure_again()
    assert calibration.current_plan().timings_ms == again.timings_ms != first.timings_ms  # read after it
    assert json.loads(path.read_text())["timings_ms"]["head"][0]["linear"] > 0
    assert again.describe()[0].split()[0] == "head" and len(again.describe()) == len(kernel_plan.SHAPES) + 3
