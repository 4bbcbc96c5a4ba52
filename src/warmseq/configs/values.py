"""Checks on the values in a config.json, by field name, made when the file is read.

The families share field names (BERT's layout, GPT-2's `n_*`, BART's `d_model`/`encoder_*`), so one
table covers them all. A bad value is refused naming the file and the field (`decoder.n_head` inside a
pair's config) instead of failing later as a shape error or a crash while the model is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

POSITIVE_INTEGERS = frozenset({
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
    "max_position_embeddings", "embedding_size", "n_embd", "n_layer", "n_head", "n_positions", "n_ctx", "n_inner",
    "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads",
    "encoder_ffn_dim", "decoder_ffn_dim",
})
NON_NEGATIVE_INTEGERS = frozenset({"type_vocab_size"})
PROBABILITIES = frozenset({
    "hidden_dropout_prob", "attention_probs_dropout_prob", "resid_pdrop", "embd_pdrop", "attn_pdrop", "dropout",
    "attention_dropout", "activation_dropout", "classifier_dropout", "encoder_layerdrop", "decoder_layerdrop",
})
POSITIVE_NUMBERS = frozenset({"layer_norm_eps", "layer_norm_epsilon"})
NON_NEGATIVE_NUMBERS = frozenset({"initializer_range", "init_std"})
TOKEN_IDS = frozenset({"pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"})
NULLABLE = frozenset({"n_inner", "n_ctx", "embedding_size", "classifier_dropout"}) | TOKEN_IDS  # null: unset
# (width, heads): attention splits the width into equal heads
DIVISIBLE = (("hidden_size", "num_attention_heads"), ("n_embd", "n_head"),
             ("d_model", "encoder_attention_heads"), ("d_model", "decoder_attention_heads"))
SUB_CONFIGS = ("encoder", "decoder")


def check_config_values(data: dict[str, Any], path: Path, prefix: str = "") -> None:
    """Raise ValueError naming `path` and the first field whose value cannot describe a model."""
    for field, value in data.items():
        problem = value_problem(field, value)
        if problem:
            raise ValueError(f"{path}: field '{prefix}{field}' {problem}")
    for width, heads in DIVISIBLE:
        if is_integer(data.get(width)) and is_integer(data.get(heads)) and data[width] % data[heads]:
            raise ValueError(
                f"{path}: field '{prefix}{width}' ({data[width]}) is not a multiple of "
                f"'{prefix}{heads}' ({data[heads]}); each attention head gets an equal share of the width"
            )
    for name in SUB_CONFIGS:
        if isinstance(data.get(name), dict):
            check_config_values(data[name], path, f"{prefix}{name}.")
        elif name in data and data.get("model_type") == "encoder-decoder":
            raise ValueError(f"{path}: field '{prefix}{name}' must be a JSON object (the {name}'s config)")


def value_problem(field: str, value: Any) -> str | None:
    """What is wrong with `value` for `field`, or None."""
    if value is None and field in NULLABLE:
        return None
    if field in POSITIVE_INTEGERS and not (is_integer(value) and value > 0):
        return f"must be a positive integer, got {value!r}"
    if field in NON_NEGATIVE_INTEGERS and not (is_integer(value) and value >= 0):
        return f"must be an integer >= 0, got {value!r}"
    if field in PROBABILITIES and not (is_number(value) and 0 <= value <= 1):
        return f"must be a probability between 0 and 1, got {value!r}"
    if field in POSITIVE_NUMBERS and not (is_number(value) and value > 0):
        return f"must be a positive number, got {value!r}"
    if field in NON_NEGATIVE_NUMBERS and not (is_number(value) and value >= 0):
        return f"must be a number >= 0, got {value!r}"
    if field in TOKEN_IDS:
        ids = value if isinstance(value, list) else [value]
        if not ids or not all(is_integer(i) and i >= 0 for i in ids):
            return f"must be a token id (an integer >= 0), a list of them, or null; got {value!r}"
    return None


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN
