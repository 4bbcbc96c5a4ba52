"""Tokenizers backed by the `tokenizers` library, with the familiar call / decode / save API."""

from .auto import AutoTokenizer
from .batch_encoding import BatchEncoding
from .families import (
    BartTokenizer,
    BartTokenizerFast,
    BertTokenizer,
    BertTokenizerFast,
    GPT2Tokenizer,
    GPT2TokenizerFast,
    RobertaTokenizer,
    RobertaTokenizerFast,
)
from .tokenizer import Tokenizer

PreTrainedTokenizer = Tokenizer
PreTrainedTokenizerFast = Tokenizer

__all__ = [
    "AutoTokenizer",
    "BartTokenizer",
    "BartTokenizerFast",
    "BatchEncoding",
    "BertTokenizer",
    "BertTokenizerFast",
    "GPT2Tokenizer",
    "GPT2TokenizerFast",
    "PreTrainedTokenizer",
    "PreTrainedTokenizerFast",
    "RobertaTokenizer",
    "RobertaTokenizerFast",
    "Tokenizer",
]
