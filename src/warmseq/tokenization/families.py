"""Tokenizer families: their default special tokens, options, and how to build them from vocabulary files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import tokenizers
from tokenizers import normalizers, pre_tokenizers, processors

from .files import BPE_MERGES, BPE_VOCAB, WORDPIECE_VOCAB, TokenizerFiles
from .tokenizer import Tokenizer
from .vocab_builders import (
    build_byte_level_bpe,
    build_wordpiece,
    gpt2_template,
    roberta_template,
    wordpiece_template,
)


class BertTokenizer(Tokenizer):
    """BERT's uncased/cased WordPiece tokenizer: [CLS] text [SEP], with token type ids."""

    model_input_names = ("input_ids", "token_type_ids", "attention_mask")
    default_special_tokens: ClassVar[Mapping[str, str]] = {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    option_defaults: ClassVar[Mapping[str, Any]] = {
        "do_lower_case": True,
        "strip_accents": None,
        "tokenize_chinese_chars": True,
    }
    saved_class_name = "BertTokenizer"

    @classmethod
    def build_from_vocabulary(
        cls, files: TokenizerFiles, options: Mapping[str, Any], unk_token: str | None
    ) -> tokenizers.Tokenizer:
        if files.wordpiece_vocab is None:
            raise FileNotFoundError(
                f"{files.folder}: {cls.__name__} needs {WORDPIECE_VOCAB} or tokenizer.json; "
                f"found neither (a {BPE_VOCAB} + {BPE_MERGES} folder is a byte-level BPE tokenizer)"
            )
        if unk_token is None:
            raise ValueError(f"{files.folder}: {cls.__name__} needs an unk_token to build WordPiece")
        return build_wordpiece(
            files.wordpiece_vocab,
            unk_token,
            do_lower_case=bool(options["do_lower_case"]),
            strip_accents=options["strip_accents"],
            tokenize_chinese_chars=bool(options["tokenize_chinese_chars"]),
        )

    def attach_post_processor(self) -> None:
        cls_id, sep_id = self.template_token_ids()
        self.backend.post_processor = wordpiece_template(self.cls_token, cls_id, self.sep_token, sep_id)

    def sync_options_with_pipeline(self, configured: set[str]) -> None:
        # tokenizer.json's normalizer is the truth; the config's copies of its settings are only reported.
        normalizer = self.backend.normalizer
        if isinstance(normalizer, normalizers.BertNormalizer):
            self.options["do_lower_case"] = normalizer.lowercase
            self.options["strip_accents"] = normalizer.strip_accents
            self.options["tokenize_chinese_chars"] = normalizer.handle_chinese_chars


class _ByteLevelBPETokenizer(Tokenizer):
    """Shared loading for the GPT-2 / RoBERTa / BART byte-level BPE vocabularies."""

    option_defaults: ClassVar[Mapping[str, Any]] = {"add_prefix_space": False}

    @classmethod
    def build_from_vocabulary(
        cls, files: TokenizerFiles, options: Mapping[str, Any], unk_token: str | None
    ) -> tokenizers.Tokenizer:
        if files.bpe_vocab is None or files.bpe_merges is None:
            raise FileNotFoundError(
                f"{files.folder}: {cls.__name__} needs {BPE_VOCAB} + {BPE_MERGES} or tokenizer.json; "
                f"found neither (a {WORDPIECE_VOCAB} folder is a WordPiece tokenizer)"
            )
        return build_byte_level_bpe(files.bpe_vocab, files.bpe_merges, bool(options["add_prefix_space"]))

    def sync_options_with_pipeline(self, configured: set[str]) -> None:
        # add_prefix_space is commonly passed to from_pretrained, so it may change a loaded pipeline.
        pre_tokenizer, post_processor = self.backend.pre_tokenizer, self.backend.post_processor
        if not isinstance(pre_tokenizer, pre_tokenizers.ByteLevel):
            return
        if "add_prefix_space" in configured:
            pre_tokenizer.add_prefix_space = bool(self.options["add_prefix_space"])
            if isinstance(post_processor, processors.RobertaProcessing):
                post_processor.add_prefix_space = bool(self.options["add_prefix_space"])
        else:
            self.options["add_prefix_space"] = pre_tokenizer.add_prefix_space


class GPT2Tokenizer(_ByteLevelBPETokenizer):
    """GPT-2's byte-level BPE; adds no special tokens and has no pad token unless one is set."""

    default_special_tokens: ClassVar[Mapping[str, str]] = {
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
    }
    saved_class_name = "GPT2Tokenizer"

    def attach_post_processor(self) -> None:
        self.backend.post_processor = gpt2_template()


class RobertaTokenizer(_ByteLevelBPETokenizer):
    """RoBERTa's byte-level BPE: <s> text </s>."""

    default_special_tokens: ClassVar[Mapping[str, str]] = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "mask_token": "<mask>",
    }
    option_defaults: ClassVar[Mapping[str, Any]] = {"add_prefix_space": False, "trim_offsets": True}
    saved_class_name = "RobertaTokenizer"

    def attach_post_processor(self) -> None:
        cls_id, sep_id = self.template_token_ids()
        self.backend.post_processor = roberta_template(
            self.cls_token,
            cls_id,
            self.sep_token,
            sep_id,
            add_prefix_space=bool(self.options["add_prefix_space"]),
            trim_offsets=bool(self.options["trim_offsets"]),
        )


class BartTokenizer(RobertaTokenizer):
    """BART uses RoBERTa's tokenizer unchanged; only the saved class name differs."""

    saved_class_name = "BartTokenizer"


BertTokenizerFast = BertTokenizer
GPT2TokenizerFast = GPT2Tokenizer
RobertaTokenizerFast = RobertaTokenizer
BartTokenizerFast = BartTokenizer
