"""Loading and saving Keras models in the Hugging Face PyTorch layout: config.json + safetensors weights.

Variables are listed under the PyTorch side's state-dict names (`layers.torch_variables`), so the shared
key maps translate them to checkpoint keys both ways; Linear kernels are transposed on the way.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np

from warmseq.checkpoints.keymap import KeyMap, LoadReport, align_prefix, apply_load, apply_save
from warmseq.checkpoints.layout import saving_into
from warmseq.checkpoints.numpy_files import load_arrays, save_arrays
from warmseq.configs.base import PretrainedConfig
from warmseq.tf.layers import torch_variables

logger = logging.getLogger("warmseq")
LEGACY_NORM_NAMES = {"LayerNorm.gamma": "LayerNorm.weight", "LayerNorm.beta": "LayerNorm.bias"}


class TFPreTrainedModel(keras.Model):
    """A Keras model with a config and a checkpoint key map; subclasses build layers and give `key_map()`."""

    config_class: ClassVar[type[PretrainedConfig]]
    uses_base_prefix: ClassVar[bool] = False  # checkpoint keys of this class carry the family's base prefix

    def __init__(self, config: PretrainedConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def key_map(self) -> KeyMap:
        raise NotImplementedError

    @property
    def torch_class_name(self) -> str:
        """The PyTorch class this one mirrors (written to config.json's `architectures`)."""
        return type(self).__name__.removeprefix("TF")

    def torch_state(self) -> dict[str, tuple[keras.Variable, bool]]:
        """PyTorch state-dict name -> (variable, stored transposed)."""
        return {name: (variable, transposed) for name, variable, transposed in torch_variables(self)}

    def num_parameters(self) -> int:
        """Weights counted once each (shared ones once), the BERT pooler included as the original counts it."""
        return sum({id(v): int(np.prod(v.shape)) for v, _ in self.torch_state().values()}.values())

    # ---- checkpoints ------------------------------------------------------------------------
    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        """Our weights under the checkpoint's key names, in PyTorch layout (tied copies left out)."""
        state = {name: np.asarray(v.numpy()).T if t else np.asarray(v.numpy())
                 for name, (v, t) in self.torch_state().items()}
        return apply_save(self.key_map(), state)

    def load_checkpoint_arrays(
        self, checkpoint: dict[str, np.ndarray], source: str, ignore_mismatched_sizes: bool = False
    ) -> LoadReport:
        key_map = self.key_map()
        renamed = rename_legacy_keys(checkpoint)
        new_names = align_prefix(renamed, key_map, self.uses_base_prefix)
        aligned = {new_names[k]: v for k, v in renamed.items()}
        state = self.torch_state()
        # shapes in PyTorch layout; zero-size broadcast views, so nothing is copied
        expected = {name: np.broadcast_to(np.float32(0), tuple(v.shape)[::-1] if t else tuple(v.shape))
                    for name, (v, t) in state.items()}
        aliases = variable_aliases(state)
        arrays, report = apply_load(key_map, aligned, expected, aliases)
        if report.mismatched_keys and not ignore_mismatched_sizes:
            raise ValueError(report.table(type(self).__name__, source)
                             + "\npass ignore_mismatched_sizes=True to keep those weights newly initialised")
        differing, first_copy = [], {}
        for name, array in arrays.items():  # key-map order: a shared pair's encoder copy comes first
            variable, transposed = state[name]
            if id(variable) in first_copy:  # a shared weight (see warmseq.modeling.sharing)
                if not np.array_equal(first_copy[id(variable)], array):
                    differing.append(name)
                continue
            first_copy[id(variable)] = array
            variable.assign(np.asarray(array.T if transposed else array, dtype=variable.dtype))
        if differing:
            logger.warning("%s: tie_encoder_decoder=True, but %d shared weights differ between the checkpoint's "
                           "encoder and decoder copies (e.g. %s); the encoder's copy is used for both", source,
                           len(differing), differing[0])
        level = logging.INFO if report.is_clean() else logging.WARNING
        logger.log(level, report.table(type(self).__name__, source))
        return report

    def save_pretrained(self, save_directory: str | os.PathLike, max_shard_size: int | str = "5GB",
                        **_ignored: Any) -> None:
        """Write config.json and model.safetensors (sharded above `max_shard_size`) in PyTorch layout."""
        with saving_into(save_directory) as folder:
            save_arrays(self.checkpoint_arrays(), folder, max_shard_size)
            self.config.architectures = [self.torch_class_name]
            self.save_extra_files(folder)
            self.config.save_pretrained(folder)

    def save_extra_files(self, folder: Path) -> None:
        """Hook for files beside the weights (generation_config.json)."""

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        config: PretrainedConfig | None = None,
        output_loading_info: bool = False,
        ignore_mismatched_sizes: bool = False,
        from_pt: bool | None = None,
        **config_overrides: Any,
    ) -> Any:
        """Build the model from config.json and load its weights (PyTorch checkpoints load as they are;
        `from_pt` is accepted for the original API's sake). `config_overrides` set config fields."""
        for name in ("torch_dtype", "dtype"):
            config_overrides.pop(name, None)
        if config is None:
            config = cls.config_class.from_pretrained(name_or_path, **config_overrides)
        else:
            config.update(config_overrides)
        model = cls(config)
        report = model.load_checkpoint_arrays(load_arrays(name_or_path, read_pickled_weights), os.fspath(name_or_path),
                                              ignore_mismatched_sizes)
        model.after_load(name_or_path)
        return (model, report.as_dict()) if output_loading_info else model

    def after_load(self, name_or_path: str | os.PathLike) -> None:
        """Hook for files read beside the weights."""


def rename_legacy_keys(checkpoint: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TF-era LayerNorm names (`gamma`/`beta`) given their current names."""
    out = {}
    for key, array in checkpoint.items():
        for old, new in LEGACY_NORM_NAMES.items():
            if key.endswith(old):
                key = key[: -len(old)] + new
        out[key] = array
    return out


def variable_aliases(state: dict[str, tuple[keras.Variable, bool]]) -> dict[str, tuple[str, ...]]:
    """Each name of a variable reachable under several names -> its other names."""
    names_by_variable: dict[int, list[str]] = {}
    for name, (variable, _) in state.items():
        names_by_variable.setdefault(id(variable), []).append(name)
    return {name: tuple(n for n in names if n != name)
            for names in names_by_variable.values() if len(names) > 1 for name in names}


def read_pickled_weights(path: Path) -> dict[str, np.ndarray]:
    """A legacy pytorch_model.bin (or one of its shards) as NumPy arrays: unpickling needs PyTorch, so
    the PyTorch side reads it (tensors only, no code runs)."""
    from warmseq.checkpoints.files import read_bin

    return {key: tensor.numpy() for key, tensor in read_bin(path).items()}
