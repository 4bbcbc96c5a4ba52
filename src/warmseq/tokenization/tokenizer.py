"""`Tokenizer`: a `tokenizers` pipeline behind the familiar call / decode / special-token API."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import tokenizers
from tokenizers import AddedToken, models

from .batch_encoding import BatchEncoding, as_tensors, check_tensor_type
from .decoding import as_python_ids, check_ids_in_vocabulary, clean_up_spaces
from .length_policy import LengthPolicy, PaddingArg, TruncationArg, resolve_length_policy
from .special_token_registry import SpecialTokenRegistry

logger = logging.getLogger(__name__)

# "No limit", the value used when a tokenizer_config.json gives no model_max_length.
UNLIMITED_LENGTH = int(1e30)
PADDING_SIDES = ("right", "left")


def _special_token(name: str) -> property:
    def read(self: Tokenizer) -> str | None:
        return self.special.named[name]

    def write(self: Tokenizer, value: str | AddedToken | None) -> None:
        self.special.assign_existing(name, value)

    return property(read, write, doc=f"The {name.replace('_', ' ')} (settable), or None.")


def _special_token_id(name: str) -> property:
    def read(self: Tokenizer) -> int | None:
        return self.special.id_of(name)

    return property(read, doc=f"The id of the {name.replace('_', ' ')}, or None.")


class Tokenizer:
    """A tokenizer backed by a `tokenizers.Tokenizer`, usable like the peer's fast tokenizers.

    Families (`BertTokenizer`, `RobertaTokenizer`, ...) add defaults and a way to build the pipeline
    from plain vocabulary files; `from_pretrained` and `save_pretrained` live in `loading` / `saving`.
    """

    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")
    default_special_tokens: ClassVar[Mapping[str, str]] = {}
    # Family options stored in tokenizer_config.json, with their defaults.
    option_defaults: ClassVar[Mapping[str, Any]] = {}
    # The `tokenizer_class` written to tokenizer_config.json.
    saved_class_name: ClassVar[str] = "PreTrainedTokenizerFast"

    bos_token = _special_token("bos_token")
    eos_token = _special_token("eos_token")
    unk_token = _special_token("unk_token")
    sep_token = _special_token("sep_token")
    pad_token = _special_token("pad_token")
    cls_token = _special_token("cls_token")
    mask_token = _special_token("mask_token")
    bos_token_id = _special_token_id("bos_token")
    eos_token_id = _special_token_id("eos_token")
    unk_token_id = _special_token_id("unk_token")
    sep_token_id = _special_token_id("sep_token")
    pad_token_id = _special_token_id("pad_token")
    cls_token_id = _special_token_id("cls_token")
    mask_token_id = _special_token_id("mask_token")

    def __init__(
        self,
        backend: tokenizers.Tokenizer,
        special_tokens: Mapping[str, str | AddedToken | None] | None = None,
        additional_special_tokens: Sequence[str | AddedToken] = (),
        model_max_length: int = UNLIMITED_LENGTH,
        padding_side: str = "right",
        truncation_side: str = "right",
        clean_up_tokenization_spaces: bool = False,
        options: Mapping[str, Any] | None = None,
        name_or_path: str = "",
    ) -> None:
        """Wraps `backend`, registering every special token in it (added when not yet in the vocabulary)."""
        self.backend = backend
        backend.no_truncation()
        backend.no_padding()
        self.model_max_length = model_max_length
        self.padding_side = padding_side
        self.truncation_side = truncation_side
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.options = {**self.option_defaults, **(options or {})}
        self.name_or_path = name_or_path
        self._warned_too_long = False
        self.special = SpecialTokenRegistry(backend, type(self).__name__)
        for name, token in (special_tokens or {}).items():
            self.special.assign(name, token)
        self.special.add_additional(list(additional_special_tokens))

    # ---- special tokens -------------------------------------------------------------------------

    def add_special_tokens(self, tokens: Mapping[str, Any]) -> int:
        """Sets named special tokens (and `additional_special_tokens`), adding new ones to the vocabulary.

        Returns how many tokens the vocabulary grew by; resize the model's embeddings when it is not 0.
        """
        return self.special.add(tokens)

    @property
    def additional_special_tokens(self) -> list[str]:
        return list(self.special.additional)

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        return self.special.as_map()

    @property
    def all_special_tokens(self) -> list[str]:
        return self.special.all_tokens()

    @property
    def all_special_ids(self) -> list[int]:
        return [self.backend.token_to_id(token) for token in self.all_special_tokens]

    # ---- vocabulary -----------------------------------------------------------------------------

    @property
    def backend_tokenizer(self) -> tokenizers.Tokenizer:
        return self.backend

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary, without tokens added on top of it."""
        return self.backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        return self.backend.get_vocab(with_added_tokens=True)

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | None | list[int | None]:
        """Token(s) to id(s); a token outside the vocabulary maps to the unknown token's id."""
        if isinstance(tokens, str):
            token_id = self.backend.token_to_id(tokens)
            return self.unk_token_id if token_id is None else token_id
        return [self.convert_tokens_to_ids(token) for token in tokens]  # type: ignore[misc]

    def convert_ids_to_tokens(self, ids: int | Sequence[int], skip_special_tokens: bool = False) -> Any:
        """Id(s) to token string(s); raises on ids outside the vocabulary."""
        plain = as_python_ids(ids)
        if isinstance(plain, int):
            check_ids_in_vocabulary([[plain]], len(self))
            return self.backend.id_to_token(plain)
        check_ids_in_vocabulary([list(plain)], len(self))
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return [self.backend.id_to_token(i) for i in plain if i not in special]

    def tokenize(self, text: str, add_special_tokens: bool = False) -> list[str]:
        return self.backend.encode(text, add_special_tokens=add_special_tokens).tokens

    # ---- encoding -------------------------------------------------------------------------------

    def __call__(
        self,
        text: str | Sequence[str] | None = None,
        text_target: str | Sequence[str] | None = None,
        padding: PaddingArg = False,
        truncation: TruncationArg = None,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | None = None,
        add_special_tokens: bool = True,
        return_attention_mask: bool | None = None,
        return_token_type_ids: bool | None = None,
    ) -> BatchEncoding:
        """Encodes one text or a batch; `text_target` adds `labels` (the target's input_ids).

        padding: False, True / "longest" (to the batch's longest) or "max_length" (to `max_length`,
        else `model_max_length`). truncation: True cuts to `max_length`, else `model_max_length`;
        None truncates only when `max_length` is given without padding. return_tensors: None, "pt", "np", "tf".
        """
        if text is None and text_target is None:
            raise ValueError("tokenizer call: pass `text`, `text_target`, or both")
        check_tensor_type(return_tensors)
        policy = resolve_length_policy(padding, truncation, max_length, self.model_max_length, pad_to_multiple_of)
        settings = (policy, max_length is None, return_tensors, add_special_tokens)
        fields = (return_attention_mask, return_token_type_ids)
        if text is None:
            return self._encode(text_target, "text_target", *settings, *fields)
        encoded = self._encode(text, "text", *settings, *fields)
        if text_target is not None:
            encoded["labels"] = self._encode(text_target, "text_target", *settings, False, False)["input_ids"]
        return encoded

    def encode(
        self,
        text: str,
        add_special_tokens: bool = True,
        truncation: TruncationArg = None,
        max_length: int | None = None,
    ) -> list[int]:
        """The input ids of one text."""
        return self(text, add_special_tokens=add_special_tokens, truncation=truncation, max_length=max_length)[
            "input_ids"
        ]

    def _encode(
        self,
        text: str | Sequence[str],
        argument: str,
        policy: LengthPolicy,
        length_unset: bool,
        return_tensors: str | None,
        add_special_tokens: bool,
        return_attention_mask: bool | None,
        return_token_type_ids: bool | None,
    ) -> BatchEncoding:
        texts, is_batch = _as_text_batch(text, argument)
        encodings = self._run_backend(texts, policy, add_special_tokens)
        if length_unset:
            self._warn_if_too_long(max((len(e.ids) for e in encodings), default=0))
        rows: dict[str, list[list[int]]] = {"input_ids": [e.ids for e in encodings]}
        wants_types = "token_type_ids" in self.model_input_names
        if return_token_type_ids if return_token_type_ids is not None else wants_types:
            rows["token_type_ids"] = [e.type_ids for e in encodings]
        if return_attention_mask is not False:
            rows["attention_mask"] = [e.attention_mask for e in encodings]
        if return_tensors is not None:
            return BatchEncoding(as_tensors(rows, return_tensors))
        return BatchEncoding(rows if is_batch else {key: value[0] for key, value in rows.items()})

    def _run_backend(
        self, texts: list[str], policy: LengthPolicy, add_special_tokens: bool
    ) -> list[tokenizers.Encoding]:
        if policy.truncate_to is not None:
            self.backend.enable_truncation(policy.truncate_to, direction=self.truncation_side)
        if policy.pads:
            self.backend.enable_padding(
                direction=self.padding_side,
                pad_id=self._pad_id_for_padding(),
                pad_token=self.pad_token,
                length=policy.pad_to,
                pad_to_multiple_of=policy.pad_to_multiple_of,
            )
        try:
            return self.backend.encode_batch(texts, add_special_tokens=add_special_tokens)
        finally:
            self.backend.no_truncation()
            self.backend.no_padding()

    def _pad_id_for_padding(self) -> int:
        pad_id = self.pad_token_id
        if pad_id is None:
            raise ValueError(
                f"padding was requested but {type(self).__name__} has no pad_token; set one, "
                "e.g. tokenizer.pad_token = tokenizer.eos_token, or call with padding=False"
            )
        return pad_id

    def _warn_if_too_long(self, longest: int) -> None:
        if longest > self.model_max_length and not self._warned_too_long:
            self._warned_too_long = True
            logger.warning(
                "a tokenized sequence has %d tokens, more than this model's limit model_max_length=%d; "
                "feeding it to the model will fail on position indices. Pass truncation=True to cut it.",
                longest,
                self.model_max_length,
            )

    @property
    def padding_side(self) -> str:
        return self._padding_side

    @padding_side.setter
    def padding_side(self, side: str) -> None:
        if side not in PADDING_SIDES:
            raise ValueError(f"padding_side must be 'right' or 'left', got {side!r}")
        self._padding_side = side

    @property
    def truncation_side(self) -> str:
        return self._truncation_side

    @truncation_side.setter
    def truncation_side(self, side: str) -> None:
        if side not in PADDING_SIDES:
            raise ValueError(f"truncation_side must be 'right' or 'left', got {side!r}")
        self._truncation_side = side

    # ---- decoding -------------------------------------------------------------------------------

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> str | list[str]:
        """Ids to text; a batch (2-D list, array or tensor) gives a list of strings."""
        ids = as_python_ids(token_ids)
        if isinstance(ids, int):
            ids = [ids]
        if ids and isinstance(ids[0], list):
            return self.batch_decode(ids, skip_special_tokens, clean_up_tokenization_spaces)
        return self.batch_decode([ids], skip_special_tokens, clean_up_tokenization_spaces)[0]

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[str]:
        """A batch of id sequences to a list of strings."""
        rows = as_python_ids(sequences)
        if rows and not isinstance(rows[0], list):
            rows = [rows]
        check_ids_in_vocabulary(rows, len(self))
        texts = self.backend.decode_batch(rows, skip_special_tokens=skip_special_tokens)
        if self._cleans_up(clean_up_tokenization_spaces):
            texts = [clean_up_spaces(text) for text in texts]
        return texts

    def _cleans_up(self, requested: bool | None) -> bool:
        cleans = self.clean_up_tokenization_spaces if requested is None else requested
        if cleans and isinstance(self.backend.model, models.BPE):
            # The clean-up targets WordPiece output; on BPE text it would delete real spaces.
            logger.info("clean_up_tokenization_spaces is ignored for a BPE tokenizer")
            return False
        return cleans

    # ---- files ----------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], **config_overrides: Any) -> Tokenizer:
        """Loads a tokenizer folder; keyword arguments override fields of its tokenizer_config.json."""
        from .loading import load_tokenizer

        return load_tokenizer(cls, path, config_overrides)

    @classmethod
    def build_from_vocabulary(cls, files: Any, options: Mapping[str, Any], unk_token: str | None) -> Any:
        """Builds the pipeline from plain vocabulary files; families override this."""
        raise FileNotFoundError(
            f"{files.folder}: {cls.__name__} needs a tokenizer.json "
            "(only the BERT, GPT-2, RoBERTa and BART families build from vocabulary files)"
        )

    def attach_post_processor(self) -> None:
        """Sets the special-token template after a build from vocabulary files; families override this."""

    def sync_options_with_pipeline(self, configured: set[str]) -> None:
        """After loading a tokenizer.json: options named in `configured` are applied to the pipeline, the
        others are read from it, so that saving writes what the pipeline does. Families override this."""

    def template_token_ids(self) -> tuple[int, int]:
        """The ids of cls_token and sep_token, which a sequence template needs."""
        cls_id, sep_id = self.cls_token_id, self.sep_token_id
        if cls_id is None or sep_id is None:
            raise ValueError(
                f"{self.name_or_path}: {type(self).__name__} needs cls_token and sep_token in its "
                f"vocabulary, got cls_token={self.cls_token!r}, sep_token={self.sep_token!r}"
            )
        return cls_id, sep_id

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> tuple[str, ...]:
        """Writes tokenizer.json, tokenizer_config.json, special_tokens_map.json and the vocabulary files."""
        from .saving import save_tokenizer

        return save_tokenizer(self, Path(save_directory))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
            f"model_max_length={self.model_max_length}, padding_side={self.padding_side!r}, "
            f"special_tokens={self.special_tokens_map})"
        )


def _as_text_batch(text: Any, argument: str) -> tuple[list[str], bool]:
    if isinstance(text, str):
        return [text], False
    if not isinstance(text, (list, tuple)):
        raise TypeError(f"`{argument}` must be a string or a list of strings, got {type(text).__name__}")
    for index, item in enumerate(text):
        if not isinstance(item, str):
            raise TypeError(f"`{argument}[{index}]` must be a string, got {type(item).__name__}")
    return list(text), True
