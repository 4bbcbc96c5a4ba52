"""BertGeneration's checkpoint key names: BERT's body without token types or pooler; a bare LM head."""

from __future__ import annotations

from warmseq.checkpoints.bert import bert_body_map, causal_lm_map, encoder_map, tied_head_rules
from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.spec import TransformerSpec


def bert_generation_encoder_map(spec: TransformerSpec) -> KeyMap:
    """`BertGenerationEncoder` keys."""
    return encoder_map(bert_body_map(spec), "bert.")


def bert_generation_lm_map(spec: TransformerSpec, tied: bool) -> KeyMap:
    """`BertGenerationDecoder` keys: the body under `bert.`, the head as `lm_head.decoder` + `lm_head.bias`."""
    rules, derived = tied_head_rules([], "lm_head.", tied)
    return causal_lm_map(bert_body_map(spec).prefixed("", "bert."), "bert.", rules, derived)
