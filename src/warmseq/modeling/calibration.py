"""Which product path (`products.py`) is fastest on this machine, by kind of product and row count.

Measured once per processor, torch version and thread count with a short run (a few seconds: every path on
three representative weights, the weights evicted from cache as in decoding; the greedy head's bf16 screen;
a decode step's cross-attention by `bmm` and by weighted row sums: `kernel_timing.py`), then kept as JSON
(`kernel_plan.py`) in the user's cache folder (`WARMSEQ_CACHE_DIR`, else `$XDG_CACHE_HOME/warmseq`, else
`~/.cache/warmseq`). Threads and processes that start together on a machine without a plan (a `torchrun`
job, a server's workers) wait for the first of them to measure, then read its plan (`file_lock.py`).
`WARMSEQ_CPU_KERNELS=0` turns the CPU paths off: every product is `F.linear`, cross-attention is `bmm`, and
nothing is measured.
Constants tuned on one processor would make another slower than plain `F.linear` (MKL on Intel is fast).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
from pathlib import Path

import torch

from warmseq.atomic import write_text_atomic
from warmseq.file_lock import exclusive_lock
from warmseq.modeling.kernel_plan import KernelPlan
from warmseq.modeling.kernel_timing import calibrate

logger = logging.getLogger(__name__)

ENV_SWITCH = "WARMSEQ_CPU_KERNELS"
ENV_CACHE_DIR = "WARMSEQ_CACHE_DIR"


def machine_key() -> str:
    """What the measurements depend on: processor model, torch version, threads."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "warmseq"


def plan_file(machine: str) -> Path:
    digest = hashlib.sha1(machine.encode()).hexdigest()[:16]
    return cache_dir() / f"kernel-plan-{digest}.json"


def current_plan() -> KernelPlan:
    """The plan for this process's settings (cheap after the first call)."""
    return plan_for(os.environ.get(ENV_SWITCH, "1"), torch.get_num_threads())


def switched_off(switch: str) -> bool:
    """Whether the value of `WARMSEQ_CPU_KERNELS` turns the CPU paths off."""
    return switch.strip().lower() in ("0", "off", "false", "no")


@functools.cache
def plan_for(switch: str, threads: int) -> KernelPlan:
    if switched_off(switch):
        return KernelPlan.plain()
    machine = machine_key()
    path = plan_file(machine)
    plan = read_plan(path)
    if plan is not None:
        return plan
    # the first thread or process to get here measures; the others wait, then read the plan it kept, rather
    # than measure on a machine it is loading
    with exclusive_lock(lock_file(path)):
        return read_plan(path) or measure_plan(machine, path)


def measure_again() -> KernelPlan:
    """Measure the plan for this process's thread count now and keep it in place of the kept one (a plan
    measured while other work loaded the machine, a changed machine); later `current_plan` calls read it."""
    machine = machine_key()
    path = plan_file(machine)
    with exclusive_lock(lock_file(path)):
        plan = measure_plan(machine, path)
    plan_for.cache_clear()
    return plan


def lock_file(path: Path) -> Path:
    """The lock file beside a plan file: whoever holds it measures that plan."""
    return path.with_suffix(".lock")


def read_plan(path: Path) -> KernelPlan | None:
    try:
        return KernelPlan.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def measure_plan(machine: str, path: Path) -> KernelPlan:
    logger.info("warmseq: measuring CPU product paths once for %s (kept in %s; `warmseq kernels` shows the plan, "
                "`--measure` measures it again)", machine, path)
    plan = calibrate()
    plan.machine = machine
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, plan.to_json())
    except OSError as error:
        logger.warning("warmseq: could not keep the kernel plan in %s (%s); measuring again next time", path, error)
    return plan
