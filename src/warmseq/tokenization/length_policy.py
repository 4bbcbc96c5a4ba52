"""Turning the `padding` / `truncation` / `max_length` call arguments into concrete lengths."""

from __future__ import annotations

from dataclasses import dataclass

PaddingArg = bool | str | None
TruncationArg = bool | str | None

_PAD_LONGEST = (True, "longest")
_PAD_NONE = (False, None, "do_not_pad")
_TRUNCATE = (True, "longest_first", "only_first", "only_second")
_NO_TRUNCATE = (False, "do_not_truncate")


@dataclass(frozen=True)
class LengthPolicy:
    """What to do with sequence lengths in one call.

    truncate_to: cut every sequence (special tokens included) to this many tokens; None keeps them whole.
    pad_to: pad to exactly this length; None with `pad_to_longest` pads to the batch's longest.
    """

    truncate_to: int | None
    pad_to_longest: bool
    pad_to: int | None
    pad_to_multiple_of: int | None

    @property
    def pads(self) -> bool:
        return self.pad_to_longest or self.pad_to is not None


def resolve_length_policy(
    padding: PaddingArg,
    truncation: TruncationArg,
    max_length: int | None,
    model_max_length: int,
    pad_to_multiple_of: int | None = None,
) -> LengthPolicy:
    """Applies the familiar rules: `max_length` defaults to the model's limit for truncation and
    "max_length" padding, and `max_length` alone (no padding) also turns truncation on."""
    if max_length is not None and (not isinstance(max_length, int) or max_length <= 0):
        raise ValueError(f"max_length must be a positive integer or None, got {max_length!r}")
    if padding not in _PAD_LONGEST + _PAD_NONE + ("max_length",):
        raise ValueError(f"padding={padding!r} is not supported; use False, True, 'longest' or 'max_length'")
    if truncation not in _TRUNCATE + _NO_TRUNCATE + (None,):
        raise ValueError(
            f"truncation={truncation!r} is not supported; use False, True, 'longest_first' or 'do_not_truncate'"
        )

    if truncation is None:
        truncates = max_length is not None and padding in _PAD_NONE
    else:
        truncates = truncation in _TRUNCATE
    limit = max_length if max_length is not None else model_max_length
    return LengthPolicy(
        truncate_to=limit if truncates else None,
        pad_to_longest=padding in _PAD_LONGEST,
        pad_to=limit if padding == "max_length" else None,
        pad_to_multiple_of=pad_to_multiple_of,
    )
