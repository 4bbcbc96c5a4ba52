"""BERT's checkpoint key names (also the layout RoBERTa, ELECTRA and friends reuse)."""

from __future__ import annotations

from warmseq.checkpoints import arrays
from warmseq.checkpoints.keymap import KeyMap, KeyRule, fused_linear, linear, rename
from warmseq.configs.spec import TransformerSpec


def bert_layer_rules(i: int, has_cross_attention: bool) -> list[KeyRule]:
    ours, theirs = f"layers.{i}.", f"encoder.layer.{i}."
    att = theirs + "attention."
    rules = [
        *fused_linear(ours + "self_attn.qkv", *(att + f"self.{n}" for n in ("query", "key", "value"))),
        *linear(ours + "self_attn.out", att + "output.dense"),
        *linear(ours + "self_attn_norm", att + "output.LayerNorm"),
        *linear(ours + "ffn.up", theirs + "intermediate.dense"),
        *linear(ours + "ffn.down", theirs + "output.dense"),
        *linear(ours + "ffn_norm", theirs + "output.LayerNorm"),
    ]
    if has_cross_attention:
        cross = theirs + "crossattention."
        rules += [
            *linear(ours + "cross_attn.q", cross + "self.query"),
            *fused_linear(ours + "cross_attn.kv", cross + "self.key", cross + "self.value"),
            *linear(ours + "cross_attn.out", cross + "output.dense"),
            *linear(ours + "cross_attn_norm", cross + "output.LayerNorm"),
        ]
    return rules


def bert_body_map(spec: TransformerSpec) -> KeyMap:
    """Embeddings and layers of a BERT-layout stack; ours under `stack.`, theirs unprefixed."""
    rules = [
        rename("embeddings.tokens.weight", "embeddings.word_embeddings.weight"),
        rename("embeddings.positions.weight", "embeddings.position_embeddings.weight"),
        *linear("embeddings.norm", "embeddings.LayerNorm"),
    ]
    if spec.type_vocab_size:
        rules.append(rename("embeddings.token_types.weight", "embeddings.token_type_embeddings.weight"))
    for i in range(spec.num_layers):
        rules += bert_layer_rules(i, spec.has_cross_attention)
    return KeyMap(tuple(r.prefixed("stack.", "") for r in rules))


def bert_encoder_map(spec: TransformerSpec) -> KeyMap:
    """`BertModel` keys: the body unprefixed, plus the pooler (kept as buffers on our side)."""
    pooler = (rename("pooler_weight", "pooler.dense.weight"), rename("pooler_bias", "pooler.dense.bias"))
    return encoder_map(bert_body_map(spec) + KeyMap(pooler), "bert.")


def bert_lm_map(spec: TransformerSpec, tied: bool, base: str = "bert.") -> KeyMap:
    """`BertLMHeadModel` keys: the body under `bert.`, the head under `cls.predictions.`."""
    body = bert_body_map(spec).prefixed("", base)
    rules = [
        *linear("lm_head.transform", "cls.predictions.transform.dense"),
        *linear("lm_head.transform_norm", "cls.predictions.transform.LayerNorm"),
    ]
    rules, derived = tied_head_rules(rules, "cls.predictions.", tied)
    return causal_lm_map(body, base, rules, derived)


def tied_head_rules(rules: list[KeyRule], head: str, tied: bool) -> tuple[list[KeyRule], set[str]]:
    """Rules for an LM head's `decoder` projection and bias, and the keys they make derived.

    Tied, the original stores the bias once (`bias`) and no projection. Untied, it holds two biases:
    the projection's own (`decoder.bias`, the one its forward adds) and a `bias` it never reads;
    we load the first and write ours under both names."""
    if tied:
        return [*rules, rename("lm_head.bias", head + "bias")], {head + "decoder.weight", head + "decoder.bias"}
    both = KeyRule("lm_head.bias", (head + "decoder.bias", head + "bias"), lambda parts: parts[0],
                   lambda t: [t, arrays.copy(t)])
    return [*rules, both, rename("lm_head.weight", head + "decoder.weight")], set()


def encoder_map(body: KeyMap, base: str) -> KeyMap:
    """An encoder's keys; `base` is the prefix its family's head models put before them (stripped on load)."""
    return KeyMap(body.rules, body.derived, body.ignored_suffixes, base_prefix=base)


def causal_lm_map(body: KeyMap, base: str, head_rules: list[KeyRule], derived: set[str]) -> KeyMap:
    """A decoder's keys: `body` (already under `base`) plus its LM head; `derived` keys are tied copies."""
    both = body + KeyMap(tuple(head_rules), frozenset(derived))
    return KeyMap(both.rules, both.derived, both.ignored_suffixes, base_prefix=base)
