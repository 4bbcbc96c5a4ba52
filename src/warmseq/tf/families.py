"""Per model_type: the TF class names of the encoder and the decoder, and the shared key-map functions.

The one place this port looks families up; the family record (warmseq.families) replaces it in one edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from warmseq.checkpoints.bart import bart_causal_lm_map, bart_encoder_map
from warmseq.checkpoints.bert import bert_encoder_map, bert_lm_map
from warmseq.checkpoints.bert_generation import bert_generation_encoder_map, bert_generation_lm_map
from warmseq.checkpoints.electra import electra_encoder_map, electra_lm_map
from warmseq.checkpoints.gpt2 import gpt2_body_map, gpt2_lm_map
from warmseq.checkpoints.keymap import KeyMap
from warmseq.checkpoints.roberta import roberta_encoder_map, roberta_lm_map
from warmseq.configs.spec import TransformerSpec


@dataclass(frozen=True)
class FamilyMaps:
    encoder_class: str  # PyTorch class name; the TF class is "TF" + this
    decoder_class: str
    encoder_map: Callable[[TransformerSpec], KeyMap]
    decoder_map: Callable[[TransformerSpec, bool], KeyMap]  # (spec, tie_word_embeddings)
    has_pooler: bool = False  # BERT and RoBERTa encoders carry a pooler (loaded and saved, never used)


FAMILIES: dict[str, FamilyMaps] = {
    "bert": FamilyMaps("BertModel", "BertLMHeadModel", bert_encoder_map, bert_lm_map, has_pooler=True),
    "roberta": FamilyMaps("RobertaModel", "RobertaForCausalLM", roberta_encoder_map, roberta_lm_map, True),
    "xlm-roberta": FamilyMaps("XLMRobertaModel", "XLMRobertaForCausalLM", roberta_encoder_map, roberta_lm_map,
                              True),
    "electra": FamilyMaps("ElectraModel", "ElectraForCausalLM", electra_encoder_map, electra_lm_map),
    "bert-generation": FamilyMaps("BertGenerationEncoder", "BertGenerationDecoder", bert_generation_encoder_map,
                                  bert_generation_lm_map),
    "gpt2": FamilyMaps("GPT2Model", "GPT2LMHeadModel", gpt2_body_map, gpt2_lm_map),
    "bart": FamilyMaps("BartEncoder", "BartForCausalLM", bart_encoder_map, bart_causal_lm_map),
}


def family_of(model_type: str, role: str) -> FamilyMaps:
    if model_type not in FAMILIES:
        raise ValueError(f"model_type {model_type!r} cannot be used as {role} in warmseq's TF port; "
                         f"supported: {sorted(FAMILIES)}")
    return FAMILIES[model_type]
