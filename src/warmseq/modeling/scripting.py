"""Functions of a decode step compiled by TorchScript, which runs their aten calls without Python between them.

A batch-1 decode step makes hundreds of small torch calls around its products; from Python each pays for
argument parsing and dispatch, with caches the products' weights have just streamed through. TorchScript's
interpreter makes the same calls, in the same order, for far less (docs/results.md). `torch.jit.script` is
deprecated in favour of `torch.compile`, which is slower for these steps here (`static_step.py`); where
scripting fails (a later torch), the plain function runs, with the same results.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from typing import TypeVar

import torch

logger = logging.getLogger(__name__)

Function = TypeVar("Function", bound=Callable)


@functools.cache
def scripted(function: Function) -> Function:
    """`function` compiled by TorchScript once per process, or `function` itself where that fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation notice: see the module's docstring
            return torch.jit.script(function)
    except Exception as error:  # noqa: BLE001 - any failure to script leaves the plain function, equal in value
        logger.info("warmseq: %s runs unscripted (TorchScript could not compile it: %s)", function.__name__, error)
        return function
