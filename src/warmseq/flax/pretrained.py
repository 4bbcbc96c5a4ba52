"""Loading and saving Flax models in the Hugging Face layout: config.json + safetensors, via the key maps.

The twin of warmseq/modeling/pretrained.py: the same config classes, key maps and load report; the arrays
travel as NumPy between the files and the Flax parameters."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from warmseq.checkpoints.keymap import KeyMap, LoadReport, align_prefix, apply_load, apply_save
from warmseq.checkpoints.layout import saving_into
from warmseq.checkpoints.numpy_files import load_arrays, save_arrays
from warmseq.configs.base import PretrainedConfig
from warmseq.flax.checkpoint import read_param, variable_of, write_param
from warmseq.flax.linear import Dtype
from warmseq.modeling.pretrained import rename_legacy_keys

logger = logging.getLogger("warmseq")


class FlaxPreTrainedModel(nnx.Module):
    """A Flax model with a config and a checkpoint key map; subclasses build modules and give `key_map()`."""

    config_class: ClassVar[type[PretrainedConfig]]
    uses_base_prefix: ClassVar[bool] = False  # checkpoint keys of this class carry the family's base prefix

    def key_map(self) -> KeyMap:
        raise NotImplementedError

    # ---- parameters ------------------------------------------------------------------------------
    @property
    def params(self) -> nnx.State:
        """The trainable parameters as a pytree (an `nnx.State`); assign one back to update the model."""
        return nnx.state(self, nnx.Param)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "params":  # `model.params = new_params`, as with the original Flax classes
            nnx.update(self, value)
            return
        super().__setattr__(name, value)

    def num_parameters(self, only_trainable: bool = False) -> int:
        """Weights counted once each (a tied encoder-decoder's shared weights once); BERT's pooler counts as
        the PyTorch side counts it, unless `only_trainable`."""
        state = nnx.state(self, nnx.Param) if only_trainable else nnx.state(self)
        return sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(state))

    # ---- checkpoints ------------------------------------------------------------------------------
    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """Our arrays under the checkpoint's key names, PyTorch layout (tied copies left out)."""
        key_map = self.key_map()
        return apply_save(key_map, {rule.ours: read_param(self, rule.ours) for rule in key_map.rules})

    def load_checkpoint_state(self, checkpoint: dict[str, np.ndarray], source: str,
                              ignore_mismatched_sizes: bool = False) -> LoadReport:
        key_map = self.key_map()
        renamed = rename_legacy_keys(checkpoint)
        new_names = align_prefix(renamed, key_map, self.uses_base_prefix)
        aligned = {new_names[k]: v for k, v in renamed.items()}
        expected = {rule.ours: read_param(self, rule.ours) for rule in key_map.rules}
        aliases = shared_names(self, list(expected))
        arrays, report = apply_load(key_map, aligned, expected, aliases)
        arrays = keep_first_copy(arrays, aliases, source)
        if report.mismatched_keys and not ignore_mismatched_sizes:
            raise ValueError(
                report.table(type(self).__name__, source)
                + "\nthe checkpoint's weights do not fit the config; pass ignore_mismatched_sizes=True to keep "
                "those weights newly initialised"
            )
        for name, array in arrays.items():
            write_param(self, name, array)
        level = logging.INFO if report.is_clean() else logging.WARNING
        logger.log(level, report.table(type(self).__name__, source))
        return report

    def save_pretrained(self, save_directory: str | os.PathLike, max_shard_size: int | str = "5GB",
                        **_ignored: Any) -> None:
        """Write config.json and model.safetensors (sharded above `max_shard_size`) into a folder; the
        PyTorch classes and transformers read it unchanged."""
        with saving_into(save_directory) as folder:
            save_arrays(self.checkpoint_state(), folder, max_shard_size)
            self.config.architectures = [type(self).__name__.removeprefix("Flax")]
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
        dtype: Dtype = jnp.float32,
        seed: int = 0,
        output_loading_info: bool = False,
        ignore_mismatched_sizes: bool = False,
        **config_overrides: Any,
    ) -> Any:
        """Build the model from its config.json and load its weights; `dtype` is the compute dtype (the
        parameters stay float32); `config_overrides` set config fields."""
        if config is None:
            config = cls.config_class.from_pretrained(name_or_path, **config_overrides)
        else:
            config.update(config_overrides)
        model = cls(config, seed=seed, dtype=dtype)
        report = model.load_checkpoint_state(load_arrays(name_or_path, refuse_pickled_weights), os.fspath(name_or_path),
                                             ignore_mismatched_sizes)
        model.after_load(name_or_path)
        return (model, report.as_dict()) if output_loading_info else model

    def after_load(self, name_or_path: str | os.PathLike) -> None:
        """Hook for files read beside the weights."""


def shared_names(model: nnx.Module, names: list[str]) -> dict[str, tuple[str, ...]]:
    """Each of `names` that reaches a variable also reachable under other names -> those names."""
    by_variable: dict[int, list[str]] = {}
    for name in names:
        by_variable.setdefault(id(variable_of(model, name)[0]), []).append(name)
    return {name: tuple(n for n in group if n != name)
            for group in by_variable.values() if len(group) > 1 for name in group}


def keep_first_copy(arrays: dict[str, np.ndarray], aliases: dict[str, tuple[str, ...]],
                    source: str) -> dict[str, np.ndarray]:
    """Loaded arrays with one copy per shared variable: the first (the encoder's, in a pair)."""
    out: dict[str, np.ndarray] = {}
    differing = []
    for name, array in arrays.items():
        kept = next((a for a in aliases.get(name, ()) if a in out), None)
        if kept is None:
            out[name] = array
        elif not np.array_equal(out[kept], array):
            differing.append(name)
    if differing:
        logger.warning(
            "%s: tie_encoder_decoder=True, but %d shared weights differ between the checkpoint's encoder and "
            "decoder copies (e.g. %s); the encoder's copy is used for both", source, len(differing), differing[0],
        )
    return out


def refuse_pickled_weights(path: Path) -> dict[str, np.ndarray]:
    """A legacy pytorch_model.bin is a pickle, which the Flax classes leave to the PyTorch side."""
    raise ValueError(
        f"{path.parent} holds only {path.name} (a PyTorch pickle), which the Flax classes do not read; convert "
        "it once with warmseq's PyTorch class: EncoderDecoderModel.from_pretrained(path).save_pretrained(path)"
    )
