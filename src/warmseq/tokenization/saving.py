"""Writing a tokenizer folder that both warmseq and the peer library load."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers import AddedToken, models

from warmseq.atomic import folder_lock, write_text_atomic

from .files import (
    SPECIAL_TOKENS_MAP,
    TOKENIZER_CONFIG,
    TOKENIZER_JSON,
    WORDPIECE_VOCAB,
)

if TYPE_CHECKING:
    from .tokenizer import Tokenizer


def save_tokenizer(tokenizer: Tokenizer, folder: Path) -> tuple[str, ...]:
    """Writes every file atomically (temporary file, then rename) and returns their paths."""
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"save_pretrained: '{folder}' is a file; pass a folder path")
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder):  # a model saved into the same folder by another process takes its turn
        written = [
            _write(folder / TOKENIZER_JSON, tokenizer.backend.to_str(pretty=True)),
            _write(folder / TOKENIZER_CONFIG, _to_json(tokenizer_config(tokenizer))),
            _write(folder / SPECIAL_TOKENS_MAP, _to_json(special_token_entries(tokenizer))),
        ]
        return tuple(written + _write_vocabulary(tokenizer, folder))


def tokenizer_config(tokenizer: Tokenizer) -> dict[str, Any]:
    """The tokenizer_config.json fields describing `tokenizer`."""
    from .tokenizer import UNLIMITED_LENGTH

    config: dict[str, Any] = {"tokenizer_class": tokenizer.saved_class_name}
    config.update(special_token_entries(tokenizer, tagged=True))
    config.update(tokenizer.options)
    if tokenizer.model_max_length < UNLIMITED_LENGTH:
        config["model_max_length"] = tokenizer.model_max_length
    config["padding_side"] = tokenizer.padding_side
    config["truncation_side"] = tokenizer.truncation_side
    config["clean_up_tokenization_spaces"] = tokenizer.clean_up_tokenization_spaces
    return config


def special_token_entries(tokenizer: Tokenizer, tagged: bool = False) -> dict[str, Any]:
    """The special tokens as written to both config files (the peer may read either one); `tagged`
    marks object entries with "__type", which the peer needs in tokenizer_config.json only."""
    added = {token.content: token for token in tokenizer.backend.get_added_tokens_decoder().values()}
    entries: dict[str, Any] = {}
    for name, value in tokenizer.special_tokens_map.items():
        if isinstance(value, str):
            entries[name] = _token_entry(added.get(value), value, tagged)
        else:
            entries[name] = [_token_entry(added.get(content), content, tagged) for content in value]
    return entries


def _token_entry(token: AddedToken | None, content: str, tagged: bool) -> str | dict[str, Any]:
    """A plain string, or an object when the token strips spaces, matches whole words or is normalized."""
    if token is None:
        return content
    flags = {flag: getattr(token, flag) for flag in ("lstrip", "rstrip", "single_word", "normalized")}
    if not any(flags.values()):
        return content
    return {**({"__type": "AddedToken"} if tagged else {}), "content": content, **flags, "special": True}


def _write_vocabulary(tokenizer: Tokenizer, folder: Path) -> list[str]:
    """vocab.txt for WordPiece, vocab.json + merges.txt for BPE, so vocabulary-file loaders work too."""
    model = tokenizer.backend.model
    if isinstance(model, models.WordPiece):
        vocab = tokenizer.get_vocab()
        by_id = sorted(vocab, key=vocab.__getitem__)
        if [vocab[token] for token in by_id] != list(range(len(by_id))):
            raise ValueError(f"save_pretrained: the WordPiece ids have gaps; cannot write {WORDPIECE_VOCAB}")
        return [_write(folder / WORDPIECE_VOCAB, "".join(token + "\n" for token in by_id))]
    if isinstance(model, models.BPE):
        with tempfile.TemporaryDirectory(dir=folder, prefix=".bpe-") as staging:
            staged = model.save(staging)
            targets = [folder / Path(path).name for path in staged]
            for path, target in zip(staged, targets, strict=True):
                os.replace(path, target)
        return [str(target) for target in targets]
    return []


def _write(path: Path, text: str) -> str:
    write_text_atomic(path, text)
    return str(path)


def _to_json(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
