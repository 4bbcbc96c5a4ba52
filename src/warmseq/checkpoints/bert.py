"""BERT's checkpoint key names (also the layout RoBERTa, ELECTRA and friends reuse)."""

from __future__ import annotations

from warmseq.checkpoints.keymap import KeyMap, KeyRule, fused, rename
from warmseq.configs.spec import TransformerSpec


def linear(ours: str, theirs: str, bias: bool = True) -> list[KeyRule]:
    rules = [rename(f"{ours}.weight", f"{theirs}.weight")]
    return rules + [rename(f"{ours}.bias", f"{theirs}.bias")] if bias else rules


def fused_linear(ours: str, *theirs: str) -> list[KeyRule]:
    return [fused(f"{ours}.{p}", *(f"{t}.{p}" for t in theirs)) for p in ("weight", "bias")]


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
    return bert_body_map(spec) + KeyMap(pooler)


def bert_lm_map(spec: TransformerSpec, tied: bool, base: str = "bert.") -> KeyMap:
    """`BertLMHeadModel` keys: the body under `bert.`, the head under `cls.predictions.`."""
    body = bert_body_map(spec).prefixed("", base)
    rules = [
        *linear("lm_head.transform", "cls.predictions.transform.dense"),
        *linear("lm_head.transform_norm", "cls.predictions.transform.LayerNorm"),
        rename("lm_head.bias", "cls.predictions.bias"),
    ]
    derived = {"cls.predictions.decoder.bias"}
    if tied:
        derived.add("cls.predictions.decoder.weight")
    else:
        rules.append(rename("lm_head.weight", "cls.predictions.decoder.weight"))
    head = KeyMap(tuple(rules), frozenset(derived))
    return KeyMap((body + head).rules, (body + head).derived, base_prefix=base)
