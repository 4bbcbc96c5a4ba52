"""The config.json contract shared by every model family (no tensor library imported here)."""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from warmseq.atomic import write_text_atomic
from warmseq.configs.values import check_config_values
from warmseq.hub import resolve_file
from warmseq.json_files import read_json_object

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"

# Fields every family understands, with the values a config has when a file does not set them.
COMMON_DEFAULTS: dict[str, Any] = {
    "is_decoder": False,
    "add_cross_attention": False,
    "tie_word_embeddings": True,
    "is_encoder_decoder": False,
    "tie_encoder_decoder": False,
    "bos_token_id": None,
    "eos_token_id": None,
    "pad_token_id": None,
    "decoder_start_token_id": None,
    "architectures": None,
}

# Bookkeeping fields older writers put in config.json; they describe the writer, not the model.
WRITER_FIELDS = frozenset({"transformers_version", "warmseq_version", "_name_or_path", "_commit_hash", "dtype",
                           "torch_dtype", "_attn_implementation_autoset", "return_dict", "output_hidden_states",
                           "output_attentions", "torchscript", "use_bfloat16", "pruned_heads",
                           "chunk_size_feed_forward", "problem_type", "tf_legacy_loss", "gradient_checkpointing",
                           "id2label", "label2id", "finetuning_task", "cross_attention_hidden_size",
                           "tokenizer_class", "prefix", "task_specific_params", "is_composition"})

# Generation settings that legacy files keep at the top level of config.json (now generation_config.json).
GENERATION_FIELDS = frozenset({"max_length", "min_length", "do_sample", "early_stopping", "num_beams",
                               "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p",
                               "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
                               "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
                               "output_scores", "return_dict_in_generate", "forced_bos_token_id",
                               "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
                               "suppress_tokens", "begin_suppress_tokens", "max_new_tokens", "min_new_tokens"})


class PretrainedConfig:
    """A model's hyper-parameters, read from and written to `config.json`.

    Subclasses list their own fields and defaults in `defaults`; any other key found in a file is kept
    as an attribute so that saving writes it back.
    """

    model_type: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **fields: Any) -> None:
        values = {**COMMON_DEFAULTS, **self.defaults}
        for name in WRITER_FIELDS:
            fields.pop(name, None)
        fields.pop("model_type", None)
        values.update(fields)
        self.generation_fields: dict[str, Any] = {}
        for name in list(values):
            if name in GENERATION_FIELDS:
                self.generation_fields[name] = values.pop(name)
        for name, value in values.items():
            setattr(self, name, value)

    # ---- dict and JSON forms -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        # private fields (`_attn_implementation`) describe this run, not the model: never written
        out = {k: copy.deepcopy(v) for k, v in vars(self).items() if k != "generation_fields" and k[0] != "_"}
        out["model_type"] = self.model_type
        return dict(sorted(out.items()))

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | os.PathLike) -> None:
        write_text_atomic(Path(path), self.to_json_string())

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> PretrainedConfig:
        found = data.get("model_type")
        if cls.model_type and found and found != cls.model_type:
            logger.warning("loading a %r config into %s (model_type %r)", found, cls.__name__, cls.model_type)
        return cls(**{**data, **overrides})

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> PretrainedConfig:
        return build_from_file(cls, read_config_file(Path(path)), Path(path), {})

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        folder = Path(save_directory)
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"save_pretrained: {folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        self.to_json_file(folder / CONFIG_NAME)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **overrides: Any) -> PretrainedConfig:
        path = resolve_file(name_or_path, CONFIG_NAME)
        return build_from_file(cls, read_config_file(path), path, overrides)

    # ---- conveniences ----------------------------------------------------------------------
    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a config.json, naming the file in any error."""
    data = read_json_object(path, "a model's config.json")
    check_config_values(data, path)
    return data


def build_from_file(
    cls: type[PretrainedConfig], data: dict[str, Any], path: Path, overrides: dict[str, Any]
) -> PretrainedConfig:
    """`cls.from_dict(data)`, any error in building it (a sub-config without model_type, say) raised as
    ValueError naming the file. (What a model then needs, such as heads dividing a default width, is
    checked when the model is built: a config alone may be read for other uses.)"""
    try:
        return cls.from_dict(data, **overrides)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{path}: {err}") from err
