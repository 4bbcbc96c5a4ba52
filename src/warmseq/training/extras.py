"""Optional packages a run needs, checked before its first step rather than discovered at its end.

ROUGE (rouge-score) scores validation: without it a run that validates stops before training.
The plots (matplotlib) are a nicety: without it the run trains and skips them, saying so up front.
"""

from __future__ import annotations

import importlib.util
import logging
import sys

from .config import TrainConfig

logger = logging.getLogger(__name__)

TRAIN_EXTRA = 'pip install "warmseq[train]"'


class MissingExtraError(ImportError):
    """A package of the `train` extra that this run needs is not installed."""


def is_installed(module: str) -> bool:
    if module in sys.modules:  # None there means "known to be missing"
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


def check_training_extras(config: TrainConfig) -> bool:
    """Raise MissingExtraError if validation needs rouge-score and it is missing; return whether
    the plots can be drawn (warning now if not)."""
    if config.validation and not is_installed("rouge_score"):
        raise MissingExtraError(
            f"--validation {config.validation} is scored with ROUGE, which needs the rouge-score package: "
            f"{TRAIN_EXTRA} (or leave out --validation)"
        )
    can_plot = is_installed("matplotlib")
    if not can_plot:
        logger.warning("matplotlib is not installed: loss.png and rouge.png will not be drawn (%s)", TRAIN_EXTRA)
    return can_plot
