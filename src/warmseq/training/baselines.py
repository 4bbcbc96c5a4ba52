"""Trivial systems to score beside a model on the same examples: the lead sentence of each source."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

SENTENCE_END = re.compile(r"(?<=[.!?])\s|\n")


def lead_sentence(text: str) -> str:
    """The source's first sentence (up to the first '.', '!' or '?' before a space, or the first line break)."""
    return SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()


BASELINES: dict[str, Callable[[str], str]] = {"lead": lead_sentence}


def baseline_outputs(name: str, sources: Sequence[str]) -> list[str]:
    if name not in BASELINES:
        raise ValueError(f"baseline {name!r} is unknown; expected one of {sorted(BASELINES)}")
    return [BASELINES[name](source) for source in sources]
