"""Checks and clean-up around turning ids back into text."""

from __future__ import annotations

from typing import Any

# Spaces that a WordPiece detokenizer leaves before punctuation and English contractions, removed in
# this order by `clean_up_tokenization_spaces`.
_SPACED_PIECES = (" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're")


def clean_up_spaces(text: str) -> str:
    """Removes the space before punctuation and contractions ("it ' s ." -> "it's.")."""
    for piece in _SPACED_PIECES:
        text = text.replace(piece, piece.strip())
    return text


def as_python_ids(token_ids: Any) -> Any:
    """Lists, tuples, numpy arrays and torch tensors (any device) become plain Python ints and lists."""
    if hasattr(token_ids, "tolist"):
        return token_ids.tolist()
    if isinstance(token_ids, tuple):
        return [as_python_ids(item) for item in token_ids]
    if isinstance(token_ids, list) and token_ids and hasattr(token_ids[0], "tolist"):
        return [as_python_ids(item) for item in token_ids]
    return token_ids


def check_ids_in_vocabulary(rows: list[list[int]], vocabulary_size: int) -> None:
    """Raises a ValueError naming the first id that is negative or past the vocabulary."""
    for row_index, row in enumerate(rows):
        if not row or (min(row) >= 0 and max(row) < vocabulary_size):
            continue
        position, bad_id = next((p, i) for p, i in enumerate(row) if not 0 <= i < vocabulary_size)
        where = f"position {position}" + (f" of sequence {row_index}" if len(rows) > 1 else "")
        raise ValueError(
            f"cannot decode token id {bad_id} at {where}: ids must lie in 0..{vocabulary_size - 1}. "
            "Labels use -100 for positions the loss ignores; replace them with pad_token_id before "
            "decoding, e.g. labels[labels == -100] = tokenizer.pad_token_id."
        )
