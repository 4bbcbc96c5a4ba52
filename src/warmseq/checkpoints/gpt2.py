"""GPT-2's checkpoint key names. Its `Conv1D` layers store weights as (in, out): transposed here."""

from __future__ import annotations

from warmseq.checkpoints.keymap import KeyMap, KeyRule, rename, transposed
from warmseq.configs.spec import TransformerSpec

# causal-mask buffers older GPT-2 checkpoints carry; masks are built per call now
GPT2_STALE_BUFFERS = (".attn.bias", ".attn.masked_bias", ".crossattention.bias", ".crossattention.masked_bias")


def conv1d(ours: str, theirs: str) -> list[KeyRule]:
    return [transposed(f"{ours}.weight", f"{theirs}.weight"), rename(f"{ours}.bias", f"{theirs}.bias")]


def norm(ours: str, theirs: str) -> list[KeyRule]:
    return [rename(f"{ours}.{p}", f"{theirs}.{p}") for p in ("weight", "bias")]


def gpt2_layer_rules(i: int, has_cross_attention: bool) -> list[KeyRule]:
    ours, theirs = f"layers.{i}.", f"h.{i}."
    # c_attn's output columns are q, k, v in that order, as our fused qkv rows are
    rules = [
        *norm(ours + "self_attn_norm", theirs + "ln_1"),
        *conv1d(ours + "self_attn.qkv", theirs + "attn.c_attn"),
        *conv1d(ours + "self_attn.out", theirs + "attn.c_proj"),
        *norm(ours + "ffn_norm", theirs + "ln_2"),
        *conv1d(ours + "ffn.up", theirs + "mlp.c_fc"),
        *conv1d(ours + "ffn.down", theirs + "mlp.c_proj"),
    ]
    if has_cross_attention:
        rules += [
            *norm(ours + "cross_attn_norm", theirs + "ln_cross_attn"),
            *conv1d(ours + "cross_attn.q", theirs + "crossattention.q_attn"),
            *conv1d(ours + "cross_attn.kv", theirs + "crossattention.c_attn"),  # k, v from the encoder states
            *conv1d(ours + "cross_attn.out", theirs + "crossattention.c_proj"),
        ]
    return rules


def gpt2_body_map(spec: TransformerSpec) -> KeyMap:
    """`GPT2Model` keys (wte, wpe, h.N, ln_f); ours under `stack.`."""
    rules = [
        rename("embeddings.tokens.weight", "wte.weight"),
        rename("embeddings.positions.weight", "wpe.weight"),
        *norm("final_norm", "ln_f"),
    ]
    for i in range(spec.num_layers):
        rules += gpt2_layer_rules(i, spec.has_cross_attention)
    return KeyMap(tuple(r.prefixed("stack.", "") for r in rules),
                  ignored_suffixes=("position_ids", *GPT2_STALE_BUFFERS), base_prefix="transformer.")


def gpt2_lm_map(spec: TransformerSpec, tied: bool) -> KeyMap:
    """`GPT2LMHeadModel` keys: the body under `transformer.`, a bias-free `lm_head` tied to `wte`."""
    body = gpt2_body_map(spec).prefixed("", "transformer.")
    head = KeyMap((), frozenset({"lm_head.weight"})) if tied else KeyMap((rename("lm_head.weight", "lm_head.weight"),))
    both = body + head
    return KeyMap(both.rules, both.derived, both.ignored_suffixes, base_prefix="transformer.")
