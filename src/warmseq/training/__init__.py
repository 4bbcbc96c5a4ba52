"""Fine-tuning warm-started encoder-decoder models: data, schedule, checkpoints, loop, evaluation."""

from .config import TrainConfig
from .evaluate import EvalResult, evaluate
from .loop import NonFiniteLossError, TrainResult, train

__all__ = ["EvalResult", "NonFiniteLossError", "TrainConfig", "TrainResult", "evaluate", "train"]
