"""ELECTRA's checkpoint key names: BERT's body plus `embeddings_project`, the generator head as LM head."""

from __future__ import annotations

from warmseq.checkpoints.bert import bert_body_map, causal_lm_map, encoder_map
from warmseq.checkpoints.keymap import KeyMap, linear, rename
from warmseq.configs.spec import TransformerSpec


def electra_body_map(spec: TransformerSpec) -> KeyMap:
    body = bert_body_map(spec)
    if spec.embedding_width == spec.hidden_size:
        return body
    return body + KeyMap(tuple(linear("stack.embeddings.project", "embeddings_project")))


def electra_encoder_map(spec: TransformerSpec) -> KeyMap:
    """`ElectraModel` keys (no pooler)."""
    return encoder_map(electra_body_map(spec), "electra.")


def electra_lm_map(spec: TransformerSpec, tied: bool) -> KeyMap:
    """`ElectraForCausalLM` keys: the body under `electra.`, `generator_predictions` + `generator_lm_head`."""
    rules = [
        *linear("lm_head.transform", "generator_predictions.dense"),
        *linear("lm_head.transform_norm", "generator_predictions.LayerNorm"),
        rename("lm_head.bias", "generator_lm_head.bias"),
    ]
    derived = set()
    if tied:
        derived.add("generator_lm_head.weight")
    else:
        rules.append(rename("lm_head.weight", "generator_lm_head.weight"))
    return causal_lm_map(electra_body_map(spec).prefixed("", "electra."), "electra.", rules, derived)
