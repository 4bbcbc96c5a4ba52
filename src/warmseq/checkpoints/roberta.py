"""RoBERTa's checkpoint key names: BERT's body under `roberta.`, its own LM head under `lm_head.`."""

from __future__ import annotations

from warmseq.checkpoints.bert import (
    bert_body_map,
    bert_encoder_map,
    causal_lm_map,
    encoder_map,
    tied_head_rules,
)
from warmseq.checkpoints.keymap import KeyMap, linear
from warmseq.configs.spec import TransformerSpec


def roberta_encoder_map(spec: TransformerSpec) -> KeyMap:
    """`RobertaModel` keys: BERT's, pooler included (head models under `roberta.` drop the pooler)."""
    return encoder_map(bert_encoder_map(spec), "roberta.")


def roberta_lm_map(spec: TransformerSpec, tied: bool) -> KeyMap:
    """`RobertaForCausalLM` keys: the body under `roberta.`, the head's dense/layer_norm/bias under `lm_head.`."""
    rules = [
        *linear("lm_head.transform", "lm_head.dense"),
        *linear("lm_head.transform_norm", "lm_head.layer_norm"),
    ]
    rules, derived = tied_head_rules(rules, "lm_head.", tied)
    return causal_lm_map(bert_body_map(spec).prefixed("", "roberta."), "roberta.", rules, derived)
