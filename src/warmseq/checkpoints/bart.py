"""BART's checkpoint key names: separate q/k/v projections fused into ours, `model.` base prefix."""

from __future__ import annotations

from warmseq.checkpoints.keymap import KeyMap, KeyRule, fused_linear, linear, rename
from warmseq.configs.spec import TransformerSpec

# buffers and heads of the seq2seq checkpoint that neither BART stack reads on its own
BART_UNREAD_SUFFIXES = ("position_ids", "encoder.version", "decoder.version", "final_logits_bias")


def bart_layer_rules(i: int, is_decoder: bool) -> list[KeyRule]:
    ours, theirs = f"layers.{i}.", f"layers.{i}."
    att = theirs + "self_attn."
    rules = [
        *fused_linear(ours + "self_attn.qkv", att + "q_proj", att + "k_proj", att + "v_proj"),
        *linear(ours + "self_attn.out", att + "out_proj"),
        *linear(ours + "self_attn_norm", theirs + "self_attn_layer_norm"),
        *linear(ours + "ffn.up", theirs + "fc1"),
        *linear(ours + "ffn.down", theirs + "fc2"),
        *linear(ours + "ffn_norm", theirs + "final_layer_norm"),
    ]
    if is_decoder:
        cross = theirs + "encoder_attn."
        rules += [
            *linear(ours + "cross_attn.q", cross + "q_proj"),
            *fused_linear(ours + "cross_attn.kv", cross + "k_proj", cross + "v_proj"),
            *linear(ours + "cross_attn.out", cross + "out_proj"),
            *linear(ours + "cross_attn_norm", theirs + "encoder_attn_layer_norm"),
        ]
    return rules


def bart_stack_rules(spec: TransformerSpec, tokens_key: str) -> list[KeyRule]:
    """One BART stack (`BartEncoder` or `BartDecoder` keys); ours under `stack.`."""
    rules = [
        rename("embeddings.tokens.weight", tokens_key),
        rename("embeddings.positions.weight", "embed_positions.weight"),
        *linear("embeddings.norm", "layernorm_embedding"),
    ]
    for i in range(spec.num_layers):
        rules += bart_layer_rules(i, spec.has_cross_attention)
    return [r.prefixed("stack.", "") for r in rules]


def bart_encoder_map(spec: TransformerSpec) -> KeyMap:
    """The encoder half of `BartModel` keys: `shared` (token embeddings) and `encoder.*`.

    The decoder half of a BartModel or BartForConditionalGeneration checkpoint is known and left unread."""
    rules = [r.prefixed("", "encoder.") for r in bart_stack_rules(spec, "embed_tokens.weight")]
    rules[0] = rename("stack.embeddings.tokens.weight", "shared.weight")
    return KeyMap(tuple(rules), frozenset({"encoder.embed_tokens.weight", "lm_head.weight"}),
                  BART_UNREAD_SUFFIXES, base_prefix="model.", unused_prefixes=("decoder.",))


def bart_causal_lm_map(spec: TransformerSpec, tied: bool) -> KeyMap:
    """`BartForCausalLM` keys: the decoder under `model.decoder.`, `lm_head` tied to its embeddings.

    A seq2seq checkpoint's encoder half (`model.encoder.*`) is known and left unread."""
    rules = [r.prefixed("", "model.decoder.") for r in bart_stack_rules(spec, "embed_tokens.weight")]
    derived = {"model.shared.weight"}
    if tied:
        derived.add("lm_head.weight")
    else:
        rules.append(rename("lm_head.weight", "lm_head.weight"))
    return KeyMap(tuple(rules), frozenset(derived), BART_UNREAD_SUFFIXES, base_prefix="model.decoder.",
                  unused_prefixes=("model.encoder.",))
