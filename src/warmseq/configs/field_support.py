"""Config fields that change a model's numbers but that warmseq does not model: refused or warned about.

Every other field the original's modeling code reads for these families is modelled (docs/config-fields.md
lists them per family). What is left here, checked against transformers 5.24:

- `position_embedding_type` (BERT-layout families): transformers 5.x reads it no more and always adds
  absolute positions, as warmseq does; a checkpoint trained with relative positions by an older version
  ("relative_key", "relative_key_query") computes other numbers in both, so a value other than "absolute"
  is warned about (its `distance_embedding` weights show as unused in the load report).
- GPT-2's `scale_attn_weights=False` and `scale_attn_by_inverse_layer_idx=True` scale attention scores
  differently: refused.
- GPT-2's `reorder_and_upcast_attn=True` computes attention scores in float32 under half precision: same
  numbers in float32, not in float16/bfloat16; warned about.
- BART's `encoder_layerdrop` / `decoder_layerdrop` skip whole layers at random in training: never done
  here; warned about.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("warmseq")


@dataclass(frozen=True)
class FieldRule:
    field: str
    supported: tuple[Any, ...]  # values that give the original's numbers (a missing field counts as supported)
    refused: bool  # True: an error at construction; False: a warning
    consequence: str  # what an unsupported value means here

    def check(self, config: Any, where: str) -> None:
        if not hasattr(config, self.field):
            return
        value = getattr(config, self.field)
        if value in self.supported:
            return
        expected = " or ".join(repr(v) for v in self.supported if v is not None)
        message = (f"{where}: {self.field}={value!r} is not supported by warmseq (expected {expected}); "
                   f"{self.consequence}")
        if self.refused:
            raise ValueError(message)
        logger.warning(message)


RELATIVE_POSITIONS = FieldRule(
    "position_embedding_type", ("absolute", None), False,
    "absolute position embeddings are used, as transformers 5.x uses them too; a model trained with relative "
    "positions gives other numbers",
)
BERT_LAYOUT = (RELATIVE_POSITIONS,)
RULES: dict[str, tuple[FieldRule, ...]] = {
    "bert": BERT_LAYOUT,
    "roberta": BERT_LAYOUT,
    "xlm-roberta": BERT_LAYOUT,
    "electra": BERT_LAYOUT,
    "bert-generation": BERT_LAYOUT,
    "gpt2": (
        FieldRule("scale_attn_weights", (True,), True, "attention scores are always divided by sqrt(head_dim)"),
        FieldRule("scale_attn_by_inverse_layer_idx", (False,), True,
                  "attention scores are not divided by the layer number"),
        FieldRule("reorder_and_upcast_attn", (False,), False,
                  "attention is computed in the model's dtype: the same numbers in float32, not upcast in half "
                  "precision"),
    ),
    "bart": (
        FieldRule("encoder_layerdrop", (0.0,), False, "training never skips encoder layers"),
        FieldRule("decoder_layerdrop", (0.0,), False, "training never skips decoder layers"),
    ),
}


def check_fields(config: Any, where: str) -> None:
    """Refuse or warn about fields of `config` that warmseq would otherwise silently ignore."""
    for rule in RULES.get(getattr(config, "model_type", ""), ()):
        rule.check(config, where)
