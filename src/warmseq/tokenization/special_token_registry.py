"""Which vocabulary entries play the special roles (pad, eos, cls, ...) of one tokenizer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tokenizers
from tokenizers import AddedToken

from .special_tokens import SPECIAL_TOKEN_NAMES, parse_token_entry

TokenEntry = str | AddedToken | None


class SpecialTokenRegistry:
    """Named special tokens and extra ones, each registered in the backend as a special added token
    (so it is matched whole in raw text and dropped by `skip_special_tokens`)."""

    def __init__(self, backend: tokenizers.Tokenizer, owner: str) -> None:
        self.backend = backend
        self.owner = owner  # the tokenizer class, named in error messages
        self.named: dict[str, str | None] = dict.fromkeys(SPECIAL_TOKEN_NAMES)
        self.additional: list[str] = []

    def register(self, token: AddedToken | None) -> str | None:
        """Adds `token` to the backend as special unless it is already an added token; returns its text."""
        if token is None:
            return None
        registered = {added.content for added in self.backend.get_added_tokens_decoder().values()}
        if token.content not in registered:
            self.backend.add_special_tokens([token])
        return token.content

    def assign(self, name: str, value: TokenEntry) -> None:
        """Gives role `name` to a token, which may be new to the vocabulary."""
        if name not in SPECIAL_TOKEN_NAMES:
            raise ValueError(f"{self.owner}: unknown special token '{name}'; expected one of {SPECIAL_TOKEN_NAMES}")
        self.named[name] = self.register(parse_token_entry(value, name, self.owner))

    def assign_existing(self, name: str, value: TokenEntry) -> None:
        """Gives role `name` to a token already in the vocabulary (the attribute setters' rule)."""
        token = parse_token_entry(value, name, self.owner)
        if token is not None and self.backend.token_to_id(token.content) is None:
            size = self.backend.get_vocab_size(with_added_tokens=True)
            raise ValueError(
                f"{name} {token.content!r} is not in this tokenizer's vocabulary ({size} tokens); "
                f"use an existing token (e.g. tokenizer.{name} = tokenizer.eos_token) or call "
                f"tokenizer.add_special_tokens({{'{name}': {token.content!r}}}) and resize the model's embeddings"
            )
        self.named[name] = self.register(token)

    def add_additional(self, values: Sequence[TokenEntry]) -> None:
        for value in values:
            content = self.register(parse_token_entry(value, "additional_special_tokens", self.owner))
            if content is not None and content not in self.additional:
                self.additional.append(content)

    def add(self, tokens: Mapping[str, TokenEntry | Sequence[TokenEntry]]) -> int:
        """Assigns named roles and extra tokens; returns how many tokens the vocabulary grew by."""
        size_before = self.backend.get_vocab_size(with_added_tokens=True)
        for name, value in tokens.items():
            if name == "additional_special_tokens" and isinstance(value, (list, tuple)):
                self.add_additional(value)
            elif name in SPECIAL_TOKEN_NAMES and not isinstance(value, (list, tuple)):
                self.assign(name, value)
            else:
                raise ValueError(
                    f"add_special_tokens: unknown key '{name}' or wrong value type; expected one of "
                    f"{SPECIAL_TOKEN_NAMES} with a token, or 'additional_special_tokens' with a list"
                )
        return self.backend.get_vocab_size(with_added_tokens=True) - size_before

    def id_of(self, name: str) -> int | None:
        token = self.named[name]
        return None if token is None else self.backend.token_to_id(token)

    def as_map(self) -> dict[str, str | list[str]]:
        """The roles that are set, plus `additional_special_tokens` when there are any."""
        roles: dict[str, str | list[str]] = {k: v for k, v in self.named.items() if v is not None}
        if self.additional:
            roles["additional_special_tokens"] = list(self.additional)
        return roles

    def all_tokens(self) -> list[str]:
        tokens = [token for token in self.named.values() if token is not None]
        return list(dict.fromkeys(tokens + self.additional))
