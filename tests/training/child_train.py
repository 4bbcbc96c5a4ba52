"""Run `train` in a child process on the stand-in model (used by the kill, SIGTERM and DDP tests).

usage: python child_train.py CONFIG_JSON [--hang-on-save N] [--weights-out FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from safetensors.torch import save_file  # noqa: E402
from stand_in_model import StandInSeq2Seq  # noqa: E402

from warmseq.training import TrainConfig, model_loading, state, train  # noqa: E402


def hang_on_save(number: int) -> None:
    """The `number`-th save writes its temporary folder, announces it, then hangs before the rename."""
    original = state.write_checkpoint_files
    calls = {"count": 0}

    def write_then_hang(*args: object, **kwargs: object) -> None:
        original(*args, **kwargs)
        calls["count"] += 1
        if calls["count"] == number:
            print("HANGING IN SAVE", flush=True)
            time.sleep(600)

    state.write_checkpoint_files = write_then_hang


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--hang-on-save", type=int, default=0)
    parser.add_argument("--weights-out", default=None)
    arguments = parser.parse_args()
    model_loading.model_class = lambda: StandInSeq2Seq
    if arguments.hang_on_save:
        hang_on_save(arguments.hang_on_save)
    config = TrainConfig.from_json_dict(json.loads(Path(arguments.config).read_text()))
    result = train(config)
    if arguments.weights_out:
        rank = int(os.environ.get("RANK", "0"))
        weights = {name: tensor.contiguous() for name, tensor in result.model.state_dict().items()}
        save_file(weights, str(Path(arguments.weights_out) / f"rank{rank}.safetensors"))
    print(json.dumps({"step": result.step, "stopped_by": result.stopped_by, "losses": result.losses}), flush=True)


if __name__ == "__main__":
    main()
