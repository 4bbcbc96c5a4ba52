"""Building a `tokenizers` pipeline from plain vocabulary files (vocab.txt, vocab.json + merges.txt)."""

from __future__ import annotations

from pathlib import Path

import tokenizers
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors


def build_wordpiece(
    vocab_txt: Path,
    unk_token: str,
    do_lower_case: bool,
    strip_accents: bool | None,
    tokenize_chinese_chars: bool,
) -> tokenizers.Tokenizer:
    """BERT's WordPiece pipeline: normalize, split on whitespace and punctuation, then "##" sub-words.

    `wordpiece_template` attaches [CLS] A [SEP] later, once the special-token ids are known.
    """
    vocab = models.WordPiece.read_file(str(vocab_txt))
    if unk_token not in vocab:
        raise ValueError(f"{vocab_txt}: the unknown token {unk_token!r} (unk_token) is not in the vocabulary")
    backend = tokenizers.Tokenizer(models.WordPiece(vocab, unk_token=unk_token))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=tokenize_chinese_chars,
        strip_accents=strip_accents,
        lowercase=do_lower_case,
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    return backend


def wordpiece_template(cls_token: str, cls_id: int, sep_token: str, sep_id: int) -> processors.PostProcessor:
    """[CLS] A [SEP] for one sequence, [CLS] A [SEP] B [SEP] for a pair (B with type id 1)."""
    return processors.TemplateProcessing(
        single=f"{cls_token}:0 $A:0 {sep_token}:0",
        pair=f"{cls_token}:0 $A:0 {sep_token}:0 $B:1 {sep_token}:1",
        special_tokens=[(cls_token, cls_id), (sep_token, sep_id)],
    )


def build_byte_level_bpe(vocab_json: Path, merges_txt: Path, add_prefix_space: bool) -> tokenizers.Tokenizer:
    """GPT-2 style byte-level BPE: bytes mapped to printable characters, merges applied per word."""
    vocab, merges = models.BPE.read_file(str(vocab_json), str(merges_txt))
    backend = tokenizers.Tokenizer(
        models.BPE(vocab, merges, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False)
    )
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    backend.decoder = decoders.ByteLevel()
    return backend


def roberta_template(
    cls_token: str, cls_id: int, sep_token: str, sep_id: int, add_prefix_space: bool, trim_offsets: bool
) -> processors.PostProcessor:
    """<s> A </s> for one sequence, <s> A </s></s> B </s> for a pair."""
    return processors.RobertaProcessing(
        (sep_token, sep_id), (cls_token, cls_id), trim_offsets=trim_offsets, add_prefix_space=add_prefix_space
    )


def gpt2_template() -> processors.PostProcessor:
    """GPT-2 adds no special tokens; the byte-level processor only adjusts offsets."""
    return processors.ByteLevel(trim_offsets=False)
