"""Loading and saving models in the Hugging Face layout: config.json + safetensors weights."""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable, Container, Iterable
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from warmseq.checkpoints.files import load_state_dict, save_state_dict
from warmseq.checkpoints.keymap import KeyMap, LoadReport, align_prefix, apply_load, apply_save
from warmseq.checkpoints.layout import saving_into
from warmseq.checkpoints.weight_values import check_weight_values
from warmseq.configs.base import PretrainedConfig
from warmseq.modeling.outputs import StackRecord, resolve_flag
from warmseq.modeling.quantization import check_compute_type
from warmseq.modeling.sharing import keep_first_copy, tensor_aliases

logger = logging.getLogger("warmseq")

# Set while `from_pretrained` builds and loads a model: `init_weights` leaves the random draws to
# `init_unloaded`, which makes them only for what the checkpoint lacks (drawing every weight and then
# overwriting it took ~0.24 of MiniLM's 0.52 s load).
_LOADING_CHECKPOINT: contextvars.ContextVar[bool] = contextvars.ContextVar("warmseq_loading_checkpoint",
                                                                           default=False)

# "sdpa": torch's fused attention kernel (the default); "eager": attention weights formed by matrix products,
# as the original's eager attention. Both give the same numbers up to rounding.
ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa")
DEFAULT_ATTENTION = "sdpa"


def set_attn_implementation(config: PretrainedConfig, value: str | None) -> None:
    """Store `value` where the original keeps it, `config._attn_implementation` (never written to config.json),
    in a pair's sub-configs too. None keeps what the config has, else the default."""
    if value is not None and value not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(
            f"attn_implementation={value!r} is not supported by warmseq; expected 'sdpa' (torch's fused kernel, "
            "the default) or 'eager' (attention weights formed explicitly)"
        )
    for part in (config, getattr(config, "encoder", None), getattr(config, "decoder", None)):
        if isinstance(part, PretrainedConfig):
            current = getattr(part, "_attn_implementation", None)
            part._attn_implementation = value or current or DEFAULT_ATTENTION


class PreTrainedModel(nn.Module):
    """A model with a config and a checkpoint key map; subclasses build modules and give `key_map()`."""

    config_class: ClassVar[type[PretrainedConfig]]
    uses_base_prefix: ClassVar[bool] = False  # checkpoint keys of this class carry the family's base prefix
    base_model_prefix: ClassVar[str] = ""  # the original's name for the family's base model ("bert", ...)
    _supports_sdpa: ClassVar[bool] = True  # read by the original's tests: both attention implementations work

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__()
        set_attn_implementation(config, None)
        self.config = config

    def key_map(self) -> KeyMap:
        raise NotImplementedError

    # ---- conveniences of the original API ---------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self, only_trainable: bool = False) -> int:
        """Weights counted once each, shared ones included once; BERT's pooler (a buffer) counts as the
        original counts it, unless `only_trainable`."""
        if only_trainable:
            return sum(p.numel() for p in self.parameters() if p.requires_grad)
        return sum({id(t): t.numel() for t in [*self.parameters(), *self.buffers()]}.values())

    def record_for(self, output_attentions: bool | None, output_hidden_states: bool | None) -> StackRecord | None:
        """What a forward pass asks its stack to collect (the config's `output_*` fields fill in None), or None
        for the fast path. With `config._attn_implementation == "eager"` the weights are formed explicitly
        even when nothing is kept."""
        record = StackRecord.asked(resolve_flag(output_hidden_states, self.config, "output_hidden_states"),
                                   resolve_flag(output_attentions, self.config, "output_attentions"))
        if record is None and getattr(self.config, "_attn_implementation", None) == "eager":
            return StackRecord(None, None, None)
        return record

    def init_weights(self) -> None:
        """Draw every weight afresh (normal with the config's `initializer_range`; norms at one and zero). Inside
        `from_pretrained` this waits for the checkpoint: only what it lacks is drawn (`init_unloaded`)."""
        if _LOADING_CHECKPOINT.get():
            return
        self.init_modules(self.modules())

    def init_unloaded(self, loaded: set[int]) -> None:
        """`init_weights` for the parameters whose storage is not in `loaded` (data pointers of what the
        checkpoint filled), each with its own model's `initializer_range` (a pair's encoder and decoder have
        their own); loaded ones keep their values."""
        owners = {}  # module -> the innermost PreTrainedModel that holds it (modules() lists outer ones first)
        for model in self.modules():
            if isinstance(model, PreTrainedModel):
                owners.update(dict.fromkeys(model.modules(), model))
        unloaded = [m for m in self.modules() if any(p.data_ptr() not in loaded for p in m.parameters(recurse=False))]
        for model in dict.fromkeys(owners[m] for m in unloaded):
            model.init_modules([m for m in unloaded if owners[m] is model], keep=loaded)

    def init_modules(self, modules: Iterable[nn.Module], keep: Container[int] = ()) -> None:
        """Fresh values for the weights of `modules`, but for those whose storage is in `keep`."""
        std = getattr(self.config, "initializer_range", 0.02)

        def draw(parameter: Tensor, fill: Callable[[Tensor], object]) -> None:
            if parameter.data_ptr() not in keep:
                fill(parameter)

        for module in modules:
            if isinstance(module, nn.Linear):
                draw(module.weight, lambda w: nn.init.normal_(w, std=std))
                if module.bias is not None:
                    draw(module.bias, nn.init.zeros_)
            elif isinstance(module, nn.Embedding):
                draw(module.weight, lambda w, pad=module.padding_idx: init_embedding(w, std, pad))
            elif isinstance(module, nn.LayerNorm):
                draw(module.weight, nn.init.ones_)
                draw(module.bias, nn.init.zeros_)

    # ---- checkpoints ------------------------------------------------------------------------
    def checkpoint_state(self) -> dict[str, Tensor]:
        """Our tensors under the checkpoint's key names (tied copies left out, as the original does)."""
        return apply_save(self.key_map(), self.state_dict())

    def load_checkpoint_state(
        self, checkpoint: dict[str, Tensor], source: str, ignore_mismatched_sizes: bool = False
    ) -> LoadReport:
        key_map = self.key_map()
        renamed = rename_legacy_keys(checkpoint)
        new_names = align_prefix(renamed, key_map, self.uses_base_prefix)
        aligned = {new_names[k]: v for k, v in renamed.items()}
        check_weight_values(aligned, (key for rule in key_map.rules for key in rule.theirs), source)
        aliases = tensor_aliases(self)
        tensors, report = apply_load(key_map, aligned, self.state_dict(), aliases)
        tensors = keep_first_copy(tensors, aliases, source)
        if report.mismatched_keys and not ignore_mismatched_sizes:
            raise ValueError(
                report.table(type(self).__name__, source)
                + "\npass ignore_mismatched_sizes=True to keep those weights newly initialised"
            )
        with torch.no_grad():
            state = self.state_dict()
            for name, tensor in tensors.items():
                state[name].copy_(tensor)
            if _LOADING_CHECKPOINT.get():
                self.init_unloaded({state[name].data_ptr() for name in tensors})
        level = logging.INFO if report.is_clean() else logging.WARNING
        logger.log(level, report.table(type(self).__name__, source))
        return report

    def save_pretrained(
        self, save_directory: str | os.PathLike, max_shard_size: int | str = "5GB", **_ignored: Any
    ) -> None:
        """Write config.json and model.safetensors (sharded above `max_shard_size`) into a folder."""
        with saving_into(save_directory) as folder:
            save_state_dict(self.checkpoint_state(), folder, max_shard_size)
            self.config.architectures = [type(self).__name__]
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
        dtype: torch.dtype | None = None,
        attn_implementation: str | None = None,
        **config_overrides: Any,
    ) -> Any:
        """Build the model from its config.json and load its weights; `config_overrides` set config fields.

        `attn_implementation`: "sdpa" (default) or "eager", kept in `config._attn_implementation`."""
        config_overrides.pop("torch_dtype", None)
        compute_type = config_overrides.pop("compute_type", None)  # generate()'s default, see quantization.py
        if compute_type is not None:
            compute_type = check_compute_type(compute_type, "from_pretrained(compute_type)")
        if config is None:
            config = cls.config_class.from_pretrained(name_or_path, **config_overrides)
        else:
            config.update(config_overrides)
        set_attn_implementation(config, attn_implementation)
        loading = _LOADING_CHECKPOINT.set(True)
        try:
            try:
                model = cls(config)
            except (ValueError, TypeError, KeyError) as err:  # a config.json that cannot build this model
                raise ValueError(f"{os.fspath(name_or_path)}: config.json cannot build {cls.__name__}: {err}") from err
            report = model.load_checkpoint_state(load_state_dict(name_or_path), os.fspath(name_or_path),
                                                 ignore_mismatched_sizes)
        finally:
            _LOADING_CHECKPOINT.reset(loading)
        model.after_load(name_or_path)
        if dtype is not None:
            model.to(dtype)
        model.eval()
        if compute_type is not None:
            model.compute_type = compute_type
        return (model, report.as_dict()) if output_loading_info else model

    def after_load(self, name_or_path: str | os.PathLike) -> None:
        """Hook for files read beside the weights."""


def init_embedding(weight: Tensor, std: float, padding_idx: int | None) -> None:
    nn.init.normal_(weight, std=std)
    if padding_idx is not None:
        weight.data[padding_idx].zero_()


def rename_legacy_keys(checkpoint: dict[str, Tensor]) -> dict[str, Tensor]:
    """The checkpoint with TF-era LayerNorm names (`gamma`/`beta`) given their current names."""
    legacy = {"LayerNorm.gamma": "LayerNorm.weight", "LayerNorm.beta": "LayerNorm.bias"}
    out = {}
    for key, tensor in checkpoint.items():
        for old, new in legacy.items():
            if key.endswith(old):
                key = key[: -len(old)] + new
        out[key] = tensor
    return out
