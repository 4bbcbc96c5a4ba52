"""GenerationConfig: the knobs of `generate`, and `generation_config.json` in and out.

Backend-free: no tensor library is imported here.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warmseq.atomic import write_json_atomic
from warmseq.json_files import GENERATION_CONFIG_NAME, read_json_object

# With no max_length and no max_new_tokens, this many tokens are generated after the prompt.
DEFAULT_MAX_NEW_TOKENS = 20
CACHE_IMPLEMENTATIONS = (None, "dynamic", "static")


@dataclass
class GenerationConfig:
    """How to search: greedy, beam search or sampling, with length limits and logits transforms.

    `max_length` counts the decoder prompt (the start token) too; `max_new_tokens` does not and wins when both
    are set. With neither set, 20 new tokens are generated (as the peer does when `max_length` is unset).
    `eos_token_id` may be one id or a list of ids.
    """

    # length
    max_length: int | None = None
    max_new_tokens: int | None = None
    min_length: int = 0
    min_new_tokens: int | None = None
    early_stopping: bool | str = False
    # strategy
    do_sample: bool = False
    num_beams: int = 1
    num_return_sequences: int = 1
    use_cache: bool = True
    # logits transforms
    temperature: float = 1.0
    top_k: int | None = 50
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    bad_words_ids: list[list[int]] | None = None
    forced_bos_token_id: int | None = None
    forced_eos_token_id: int | list[int] | None = None
    # special tokens
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    decoder_start_token_id: int | None = None
    # outputs
    return_dict_in_generate: bool = False
    output_scores: bool = False
    output_attentions: bool = False  # with return_dict_in_generate: each step's attention weights
    output_hidden_states: bool = False  # with return_dict_in_generate: each step's hidden states
    # the decode step: "static" keeps every shape fixed so that one compiled graph serves every step (the
    # default on CUDA), "dynamic" attends to the filled cache only (the default elsewhere); a static step is
    # compiled with torch.compile unless disable_compile
    cache_implementation: str | None = None
    disable_compile: bool = False
    # keys read from a file that this library does not use, kept so that saving writes them back
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.validate()

    # ---- construction and updates

    def update(self, **kwargs: Any) -> GenerationConfig:
        """Set fields by name, then validate; an unknown name raises a ValueError naming the closest one."""
        names = field_names()
        for key in kwargs:
            if key not in names:
                raise ValueError(unknown_field_message(key, names))
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.validate()
        return self

    def copy(self, **changes: Any) -> GenerationConfig:
        """A validated copy with `changes` applied (the original is left as it is)."""
        clone = dataclasses.replace(self, extra=dict(self.extra))
        return clone.update(**changes)

    def eos_token_ids(self) -> list[int]:
        """`eos_token_id` as a list (empty when unset)."""
        return as_id_list(self.eos_token_id)

    # ---- checks

    def validate(self) -> None:
        """Raise a ValueError naming the first field whose value cannot work."""
        if not isinstance(self.num_beams, int) or isinstance(self.num_beams, bool) or self.num_beams < 1:
            raise ValueError(f"GenerationConfig: num_beams must be an integer >= 1, got {self.num_beams!r}")
        if not isinstance(self.num_return_sequences, int) or self.num_return_sequences < 1:
            raise ValueError(
                f"GenerationConfig: num_return_sequences must be an integer >= 1, got {self.num_return_sequences!r}"
            )
        if self.num_beams > 1 and self.num_return_sequences > self.num_beams:
            raise ValueError(
                f"GenerationConfig: num_return_sequences={self.num_return_sequences} is larger than "
                f"num_beams={self.num_beams}; beam search can return at most num_beams sequences per source"
            )
        if self.num_beams == 1 and not self.do_sample and self.num_return_sequences > 1:
            raise ValueError(
                f"GenerationConfig: greedy search returns one sequence per source, but num_return_sequences="
                f"{self.num_return_sequences}; set do_sample=True or num_beams >= num_return_sequences"
            )
        if self.early_stopping not in (True, False, "never"):
            raise ValueError(
                f"GenerationConfig: early_stopping must be True, False or 'never', got {self.early_stopping!r}"
            )
        for name in ("max_length", "max_new_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"GenerationConfig: {name} must be a positive integer or None, got {value!r}")
        for name in ("min_length", "no_repeat_ngram_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"GenerationConfig: {name} must be an integer >= 0, got {value!r}")
        if self.min_new_tokens is not None and (not isinstance(self.min_new_tokens, int) or self.min_new_tokens < 0):
            raise ValueError(f"GenerationConfig: min_new_tokens must be an integer >= 0, got {self.min_new_tokens!r}")
        if self.top_k is not None and (not isinstance(self.top_k, int) or self.top_k < 0):
            raise ValueError(f"GenerationConfig: top_k must be an integer >= 0 (0 turns it off), got {self.top_k!r}")
        if not self.repetition_penalty > 0:
            raise ValueError(
                f"GenerationConfig: repetition_penalty must be > 0 (1.0 turns it off), got {self.repetition_penalty!r}"
            )
        if self.do_sample:
            if not self.temperature > 0:
                raise ValueError(
                    f"GenerationConfig: temperature must be > 0 when sampling, got {self.temperature!r}; "
                    "for greedy decoding set do_sample=False"
                )
            if not 0 < self.top_p <= 1:
                raise ValueError(f"GenerationConfig: top_p must be in (0, 1] when sampling, got {self.top_p!r}")
        if self.cache_implementation not in CACHE_IMPLEMENTATIONS:
            raise ValueError(
                f"GenerationConfig: cache_implementation must be one of {CACHE_IMPLEMENTATIONS}, "
                f"got {self.cache_implementation!r}"
            )
        self.validate_token_ids()

    def validate_token_ids(self) -> None:
        for name in ("pad_token_id", "bos_token_id", "decoder_start_token_id", "forced_bos_token_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"GenerationConfig: {name} must be a token id (an integer >= 0), got {value!r}")
        for name in ("eos_token_id", "forced_eos_token_id"):
            ids = getattr(self, name)
            if ids is not None and not all(isinstance(i, int) and i >= 0 for i in as_id_list(ids)):
                raise ValueError(f"GenerationConfig: {name} must be a token id or a list of them, got {ids!r}")
        words = self.bad_words_ids
        if words is not None and (
            not isinstance(words, list)
            or not words
            or not all(isinstance(w, list) and w and all(isinstance(i, int) and i >= 0 for i in w) for w in words)
        ):
            raise ValueError(
                "GenerationConfig: bad_words_ids must be a non-empty list of non-empty lists of token ids, "
                f"got {words!r}"
            )

    # ---- files

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults (what `generation_config.json` holds), plus `extra`."""
        defaults = GenerationConfig()
        out = dict(self.extra)
        for name in field_names():
            value = getattr(self, name)
            if value != getattr(defaults, name):
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any]) -> GenerationConfig:
        """Build from a dict; keys that are not fields are kept in `extra` (other libraries' settings)."""
        names = field_names()
        known = {k: v for k, v in config_dict.items() if k in names}
        extra = {k: v for k, v in config_dict.items() if k not in names and k != "transformers_version"}
        # a file may hold null for a field whose default is not None: null means "the default"
        known = {k: v for k, v in known.items() if v is not None or getattr(cls, k, None) is None}
        config = cls(**known, extra=extra)
        config.validate()
        return config

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        """Write `generation_config.json` in `save_directory` (atomically: a temp file, then a rename)."""
        path = Path(save_directory) / GENERATION_CONFIG_NAME
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> GenerationConfig:
        """Read `generation_config.json` from a local directory (or the file itself)."""
        path = Path(directory)
        if path.is_dir():
            path = path / GENERATION_CONFIG_NAME
        return cls.from_dict(read_json_object(path, f"a {GENERATION_CONFIG_NAME}"))

    @classmethod
    def from_model_config(cls, config_dict: dict[str, Any]) -> GenerationConfig:
        """Generation settings from a model's config.json dict.

        Legacy files keep generation fields (num_beams, max_length, no_repeat_ngram_size, ...) at the top
        level;
        those are honoured. Fields still unset there are taken from a "decoder" sub-config when present.
        """
        names = field_names()
        top = {k: v for k, v in config_dict.items() if k in names and v is not None}
        config = cls(**top)
        decoder = config_dict.get("decoder")
        if isinstance(decoder, dict):
            defaults = cls()
            for name in names:
                if getattr(config, name) == getattr(defaults, name) and decoder.get(name) is not None:
                    setattr(config, name, decoder[name])
        if config.output_scores:
            config.return_dict_in_generate = True
        config.validate()
        return config


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(GenerationConfig) if f.name != "extra"]


def unknown_field_message(key: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"GenerationConfig has no field {key!r}{hint}"


def as_id_list(ids: int | list[int] | None) -> list[int]:
    if ids is None:
        return []
    if isinstance(ids, int):
        return [ids]
    return list(ids)
