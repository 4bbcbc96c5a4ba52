from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stand_in_model import StandInSeq2Seq  # noqa: E402
from tiny_setup import DATA_DIR, read_records, write_jsonl, write_stand_in_pair, write_vocabulary  # noqa: E402

from warmseq.training import (
    TrainConfig,  # noqa: E402
    model_loading,  # noqa: E402
)


@pytest.fixture(scope="session")
def vocab_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_vocabulary(tmp_path_factory.mktemp("vocab"))


@pytest.fixture(scope="session")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("data")
    train = write_jsonl(folder / "train.jsonl", read_records(DATA_DIR / "train.jsonl", 64))
    validation = write_jsonl(folder / "validation.jsonl", read_records(DATA_DIR / "validation.jsonl", 8))
    return train, validation


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> type[StandInSeq2Seq]:
    monkeypatch.setattr(model_loading, "model_class", lambda: StandInSeq2Seq)
    return StandInSeq2Seq


@pytest.fixture
def stand_in_config(tmp_path: Path, vocab_folder: Path, data_files: tuple[Path, Path], stand_in: type):
    """A factory of small TrainConfigs on the stand-in model; keyword arguments override fields."""

    def make(dropout: float = 0.1, **overrides: object) -> TrainConfig:
        """Dropout is on by default so that resumption must restore the generators' states."""
        encoder, decoder = write_stand_in_pair(tmp_path / f"pretrained-{dropout}", vocab_folder, dropout)
        values = dict(
            encoder=str(encoder),
            decoder=str(decoder),
            train=str(data_files[0]),
            validation=str(data_files[1]),
            output_dir=str(tmp_path / "run"),
            max_steps=6,
            batch_size=4,
            lr=1e-2,
            warmup_steps=2,
            max_source_length=48,
            max_target_length=12,
            eval_every=0,
            save_every=3,
            log_every=1,
            eval_max_new_tokens=6,
            show_progress=False,
            seed=3,
        )
        values.update(overrides)
        return TrainConfig(**values)

    return make
