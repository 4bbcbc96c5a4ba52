"""Special-token entries as they appear in tokenizer_config.json and special_tokens_map.json."""

from __future__ import annotations

from typing import Any

from tokenizers import AddedToken

# The named special tokens, in the order the peer lists them in `all_special_tokens`.
SPECIAL_TOKEN_NAMES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
EXTRA_TOKEN_LISTS = ("additional_special_tokens", "extra_special_tokens")

_ADDED_TOKEN_FLAGS = ("single_word", "lstrip", "rstrip", "normalized")


def parse_token_entry(value: Any, field: str, source: str) -> AddedToken | None:
    """Turns a config entry (a string, or a dict with "content") into a special AddedToken.

    `field` and `source` name where the entry came from, for the error message.
    """
    if value is None:
        return None
    if isinstance(value, AddedToken):
        return value
    if isinstance(value, str):
        return AddedToken(value, special=True, normalized=False)
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        flags = {flag: bool(value[flag]) for flag in _ADDED_TOKEN_FLAGS if flag in value}
        flags.setdefault("normalized", False)
        return AddedToken(value["content"], special=True, **flags)
    raise ValueError(f"{source}: '{field}' must be a string or an object with a string \"content\", got {value!r}")


def parse_token_list(value: Any, field: str, source: str) -> list[AddedToken]:
    """Parses a list of special-token entries such as `additional_special_tokens`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{source}: '{field}' must be a list of tokens, got {value!r}")
    tokens = [parse_token_entry(entry, f"{field}[{index}]", source) for index, entry in enumerate(value)]
    return [token for token in tokens if token is not None]


def parse_added_tokens_decoder(value: Any, source: str) -> list[tuple[int, AddedToken]]:
    """Parses `added_tokens_decoder` ({"id": {"content": ..., "special": ...}}) sorted by id."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ValueError(f"{source}: 'added_tokens_decoder' must map ids to token objects, got {value!r}")
    parsed = []
    for key, entry in value.items():
        if not str(key).isdigit() or not isinstance(entry, dict) or "content" not in entry:
            raise ValueError(
                f"{source}: 'added_tokens_decoder' entry {key!r} must be an integer id mapped to an object "
                f'with "content", got {entry!r}'
            )
        flags = {flag: bool(entry[flag]) for flag in _ADDED_TOKEN_FLAGS if flag in entry}
        token = AddedToken(entry["content"], special=bool(entry.get("special", False)), **flags)
        parsed.append((int(key), token))
    return sorted(parsed, key=lambda pair: pair[0])
