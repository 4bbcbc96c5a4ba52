"""`AutoTokenizer`: picks the tokenizer family for a folder and loads it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .families import BartTokenizer, BertTokenizer, GPT2Tokenizer, RobertaTokenizer
from .files import TOKENIZER_CONFIG, TokenizerFiles, read_json_object
from .loading import _check_overrides, build_tokenizer
from .tokenizer import Tokenizer

# tokenizer_config.json's `tokenizer_class` (without any "Fast" suffix) -> family.
CLASS_NAMES: dict[str, type[Tokenizer]] = {
    "BertTokenizer": BertTokenizer,
    "DistilBertTokenizer": BertTokenizer,
    "ElectraTokenizer": BertTokenizer,
    "GPT2Tokenizer": GPT2Tokenizer,
    "RobertaTokenizer": RobertaTokenizer,
    "BartTokenizer": BartTokenizer,
    "PreTrainedTokenizer": Tokenizer,
    "TokenizersBackend": Tokenizer,
}
# config.json's `model_type` -> family.
MODEL_TYPES: dict[str, type[Tokenizer]] = {
    "bert": BertTokenizer,
    "distilbert": BertTokenizer,
    "electra": BertTokenizer,
    "gpt2": GPT2Tokenizer,
    "roberta": RobertaTokenizer,
    "bart": BartTokenizer,
}


class AutoTokenizer:
    """Chooses the family from tokenizer_config.json's `tokenizer_class`, else config.json's
    `model_type`, else the files present, and loads the folder with it."""

    def __init__(self) -> None:
        raise TypeError("AutoTokenizer is not instantiated; use AutoTokenizer.from_pretrained(path)")

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], **config_overrides: Any) -> Tokenizer:
        files = TokenizerFiles.find(Path(path))
        config = files.read_tokenizer_config()
        family = choose_family(files, config)
        _check_overrides(family, config_overrides)
        config.update(config_overrides)
        return build_tokenizer(family, files, config)


def choose_family(files: TokenizerFiles, config: dict[str, Any]) -> type[Tokenizer]:
    """The family named by the config files, else the one the vocabulary files imply."""
    class_name = config.get("tokenizer_class")
    if isinstance(class_name, str):
        family = CLASS_NAMES.get(class_name.removesuffix("Fast"))
        if family is not None:
            return family
        if files.tokenizer_json is None:
            raise ValueError(
                f"{files.folder / TOKENIZER_CONFIG}: tokenizer_class {class_name!r} is not supported without "
                f"a tokenizer.json; supported classes are {sorted(CLASS_NAMES)}"
            )
        return Tokenizer
    model_type = files.read_model_type()
    if model_type in MODEL_TYPES:
        return MODEL_TYPES[model_type]
    return _family_from_files(files)


def _family_from_files(files: TokenizerFiles) -> type[Tokenizer]:
    if files.tokenizer_json is not None:
        return _family_from_tokenizer_json(files.tokenizer_json)
    if files.wordpiece_vocab is not None:
        return BertTokenizer
    with open(files.bpe_vocab, encoding="utf-8") as handle:  # type: ignore[arg-type]
        vocab = json.load(handle)
    return RobertaTokenizer if "<s>" in vocab and "</s>" in vocab else GPT2Tokenizer


def _family_from_tokenizer_json(path: Path) -> type[Tokenizer]:
    pipeline = read_json_object(path)
    model_type = (pipeline.get("model") or {}).get("type")
    post_processor = (pipeline.get("post_processor") or {}).get("type")
    if model_type == "WordPiece":
        return BertTokenizer
    if model_type == "BPE" and post_processor == "RobertaProcessing":
        return RobertaTokenizer
    if model_type == "BPE" and (pipeline.get("pre_tokenizer") or {}).get("type") == "ByteLevel":
        return GPT2Tokenizer
    return Tokenizer
