"""Finding and reading the files of a tokenizer folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warmseq.hub import resolve_folder
from warmseq.json_files import read_json_object

TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
MODEL_CONFIG = "config.json"
WORDPIECE_VOCAB = "vocab.txt"
BPE_VOCAB = "vocab.json"
BPE_MERGES = "merges.txt"

TOKENIZER_FILES = (TOKENIZER_JSON, TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP, MODEL_CONFIG, WORDPIECE_VOCAB, BPE_VOCAB,
                   BPE_MERGES)
EXPECTED_LAYOUTS = f"{TOKENIZER_JSON}, or {WORDPIECE_VOCAB} (WordPiece), or {BPE_VOCAB} + {BPE_MERGES} (byte-level BPE)"


@dataclass(frozen=True)
class TokenizerFiles:
    """The tokenizer files present in one folder; a path is None when that file is absent."""

    folder: Path
    tokenizer_json: Path | None
    wordpiece_vocab: Path | None
    bpe_vocab: Path | None
    bpe_merges: Path | None
    tokenizer_config: Path | None
    special_tokens_map: Path | None
    model_config: Path | None

    @classmethod
    def find(cls, folder: str | os.PathLike[str]) -> TokenizerFiles:
        """Lists the tokenizer files in `folder` (a local folder or a Hub id, resolved as the models are);
        raises if it holds none that define a vocabulary."""
        root = resolve_folder(folder, TOKENIZER_FILES)
        if not root.exists():
            raise FileNotFoundError(
                f"tokenizer path '{root}' does not exist; pass a local folder holding {EXPECTED_LAYOUTS}"
            )
        if not root.is_dir():
            raise NotADirectoryError(
                f"tokenizer path '{root}' is a file; pass the folder that holds {EXPECTED_LAYOUTS}"
            )

        def present(name: str) -> Path | None:
            path = root / name
            return path if path.is_file() else None

        files = cls(
            folder=root,
            tokenizer_json=present(TOKENIZER_JSON),
            wordpiece_vocab=present(WORDPIECE_VOCAB),
            bpe_vocab=present(BPE_VOCAB),
            bpe_merges=present(BPE_MERGES),
            tokenizer_config=present(TOKENIZER_CONFIG),
            special_tokens_map=present(SPECIAL_TOKENS_MAP),
            model_config=present(MODEL_CONFIG),
        )
        if files.bpe_vocab is not None and files.bpe_merges is None and files.tokenizer_json is None:
            raise FileNotFoundError(
                f"tokenizer folder '{root}' has {BPE_VOCAB} but no {BPE_MERGES}; "
                f"a byte-level BPE vocabulary needs both files (or a {TOKENIZER_JSON})"
            )
        if not files.has_vocabulary:
            found = sorted(entry.name for entry in root.iterdir())
            raise FileNotFoundError(
                f"no tokenizer files in '{root}': found {found or 'nothing'}; expected {EXPECTED_LAYOUTS}"
            )
        return files

    @property
    def has_vocabulary(self) -> bool:
        has_bpe = self.bpe_vocab is not None and self.bpe_merges is not None
        return self.tokenizer_json is not None or self.wordpiece_vocab is not None or has_bpe

    @property
    def has_bpe_vocabulary(self) -> bool:
        return self.bpe_vocab is not None and self.bpe_merges is not None

    def read_tokenizer_config(self) -> dict[str, Any]:
        """tokenizer_config.json, with special_tokens_map.json filling the fields the config lacks."""
        config = read_json_object(self.tokenizer_config) if self.tokenizer_config else {}
        special_map = read_json_object(self.special_tokens_map) if self.special_tokens_map else {}
        for name, value in special_map.items():
            config.setdefault(name, value)
        return config

    def read_model_type(self) -> str | None:
        """The `model_type` of a config.json lying next to the tokenizer, if any."""
        if self.model_config is None:
            return None
        model_type = read_json_object(self.model_config).get("model_type")
        return model_type if isinstance(model_type, str) else None
