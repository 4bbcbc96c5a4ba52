"""Reading a tokenizer folder into a `Tokenizer` (or family) instance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import tokenizers

from .files import TOKENIZER_CONFIG, TokenizerFiles
from .special_tokens import (
    EXTRA_TOKEN_LISTS,
    SPECIAL_TOKEN_NAMES,
    parse_added_tokens_decoder,
    parse_token_entry,
    parse_token_list,
)
from .tokenizer import UNLIMITED_LENGTH, Tokenizer

TokenizerType = TypeVar("TokenizerType", bound=Tokenizer)

_GENERAL_FIELDS = ("model_max_length", "padding_side", "truncation_side", "clean_up_tokenization_spaces")
# Accepted by from_pretrained for compatibility; they change nothing here.
_IGNORED_OVERRIDES = ("use_fast", "trust_remote_code", "local_files_only")


def load_tokenizer(
    cls: type[TokenizerType], folder: str | os.PathLike[str], overrides: dict[str, Any]
) -> TokenizerType:
    """Builds `cls` from the files in `folder` (or of a Hub id), with `overrides` replacing tokenizer_config.json
    fields."""
    _check_overrides(cls, overrides)
    files = TokenizerFiles.find(folder)
    config = files.read_tokenizer_config()
    config.update({k: v for k, v in overrides.items() if k not in _IGNORED_OVERRIDES})
    return build_tokenizer(cls, files, config)


def build_tokenizer(cls: type[TokenizerType], files: TokenizerFiles, config: dict[str, Any]) -> TokenizerType:
    """Builds `cls` from already-found files and an already-read tokenizer config."""
    source = str(files.tokenizer_config or files.folder / TOKENIZER_CONFIG)
    options = {name: config.get(name, default) for name, default in cls.option_defaults.items()}
    named = {name: parse_token_entry(config.get(name), name, source) for name in SPECIAL_TOKEN_NAMES}
    extra = [token for field in EXTRA_TOKEN_LISTS for token in parse_token_list(config.get(field), field, source)]

    built_from_vocabulary = files.tokenizer_json is None
    if built_from_vocabulary:
        unk = named["unk_token"] or parse_token_entry(cls.default_special_tokens.get("unk_token"), "unk_token", "")
        backend = cls.build_from_vocabulary(files, options, unk.content if unk else None)
    else:
        backend = read_tokenizer_json(files.tokenizer_json)
    _add_declared_tokens(backend, config.get("added_tokens_decoder"), source)

    for name, default in cls.default_special_tokens.items():
        # A family default fills a gap only when the vocabulary has it; configured tokens are always kept.
        if name not in config and backend.token_to_id(default) is not None:
            named[name] = parse_token_entry(default, name, source)

    tokenizer = cls(
        backend,
        special_tokens=named,
        additional_special_tokens=extra,
        model_max_length=_read_max_length(config.get("model_max_length"), source),
        padding_side=_read_choice(config, "padding_side", source),
        truncation_side=_read_choice(config, "truncation_side", source),
        clean_up_tokenization_spaces=bool(config.get("clean_up_tokenization_spaces") or False),
        options=options,
        name_or_path=str(files.folder),
    )
    if built_from_vocabulary:
        tokenizer.attach_post_processor()
    else:
        tokenizer.sync_options_with_pipeline({name for name in cls.option_defaults if name in config})
    return tokenizer


def read_tokenizer_json(path: Path) -> tokenizers.Tokenizer:
    """The tokenizers pipeline in `path`; a broken file raises ValueError naming it."""
    try:
        backend = tokenizers.Tokenizer.from_file(str(path))
        # A pipeline can parse yet fail on first use (a template naming a token it does not define makes
        # the Rust side panic): run it once, alone and on a pair, where the file can still be named.
        backend.encode("a")
        backend.encode("a", "b")
        return backend
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # a bare Exception for parse problems; a PanicException (BaseException) on use
        raise ValueError(
            f"{path} is not a readable tokenizer.json ({type(err).__name__}: {str(err)[:200]}); it may be "
            "truncated, edited by hand, or written by an incompatible tokenizers version"
        ) from None


def _check_overrides(cls: type[Tokenizer], overrides: dict[str, Any]) -> None:
    known = SPECIAL_TOKEN_NAMES + EXTRA_TOKEN_LISTS + _GENERAL_FIELDS + _IGNORED_OVERRIDES + tuple(cls.option_defaults)
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise TypeError(
            f"{cls.__name__}.from_pretrained: unknown keyword argument(s) {unknown}; "
            f"accepted tokenizer_config fields are {sorted(known)}"
        )


def _add_declared_tokens(backend: tokenizers.Tokenizer, declared: Any, source: str) -> None:
    """Adds `added_tokens_decoder` entries missing from the vocabulary, checking they land on their ids."""
    for token_id, token in parse_added_tokens_decoder(declared, source):
        if backend.token_to_id(token.content) is not None:
            continue
        if token.special:
            backend.add_special_tokens([token])
        else:
            backend.add_tokens([token])
        landed = backend.token_to_id(token.content)
        if landed != token_id:
            raise ValueError(
                f"{source}: added token {token.content!r} is declared with id {token_id} but the vocabulary "
                f"gives it id {landed}; the declared ids must follow the vocabulary without gaps"
            )


def _read_max_length(value: Any, source: str) -> int:
    if value is None:
        return UNLIMITED_LENGTH
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{source}: 'model_max_length' must be a positive integer, got {value!r}")
    return int(min(value, UNLIMITED_LENGTH))


def _read_choice(config: dict[str, Any], field: str, source: str) -> str:
    value = config.get(field) or "right"
    if value not in ("right", "left"):
        raise ValueError(f"{source}: '{field}' must be 'right' or 'left', got {value!r}")
    return value
