"""Configs whose families name the generic fields otherwise (GPT-2's `n_embd`, BART's `d_model`)."""

from __future__ import annotations

from typing import Any, ClassVar

from warmseq.configs.base import PretrainedConfig


class AliasedConfig(PretrainedConfig):
    """A config that also answers to generic field names: `aliases` maps a generic name (`hidden_size`)
    to the family's own (`n_embd`). Reading, writing and constructing with either name touch the
    family's field, and only that one is saved."""

    aliases: ClassVar[dict[str, str]] = {}

    def __init__(self, **fields: Any) -> None:
        for alias, name in self.aliases.items():
            if alias in fields:
                fields[name] = fields.pop(alias)
        super().__init__(**fields)

    def __getattr__(self, name: str) -> Any:  # only reached when normal lookup fails
        if name in self.aliases:
            return getattr(self, self.aliases[name])
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(self.aliases.get(name, name), value)
