"""Text pieces as tokens arrive, for one sequence.

Each new token re-decodes the whole sequence so far and the piece is what the text gained. Decoders are not
append-only at the edge: a WordPiece "##" token glues onto the word before it, a byte-level token may end in
the middle of a character (decoded as U+FFFD), and clean-up rules remove the space before punctuation. So the
text after the last whitespace, and any trailing replacement characters, are held back until a later token
settles them; the rest is flushed when the tokens end. Joined, the pieces equal `decode(all_ids)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

REPLACEMENT_CHAR = "\ufffd"


def stable_prefix(text: str) -> str:
    """The part of `text` that later tokens are not expected to change."""
    text = text.rstrip(REPLACEMENT_CHAR)
    cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
    return text[:cut] if cut > 0 else ""


def stream_text(tokens: Iterable[int], decode: Callable[[list[int]], str]) -> Iterator[str]:
    """Yield non-empty text pieces for `tokens`; `decode(ids) -> str` turns a full id list into text."""
    ids: list[int] = []
    emitted = ""
    for token in tokens:
        ids.append(int(token))
        ready = stable_prefix(decode(ids))
        if len(ready) > len(emitted) and ready.startswith(emitted):
            yield ready[len(emitted) :]
            emitted = ready
    text = decode(ids) if ids else ""
    if not text.startswith(emitted):
        raise RuntimeError(
            f"stream_text: decoding more tokens changed text that was already streamed ({emitted!r} is no "
            f"longer a prefix of {text!r}); this decode function is not prefix-stable"
        )
    if len(text) > len(emitted):
        yield text[len(emitted) :]
