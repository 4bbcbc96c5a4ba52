"""Which checkpoint key maps a config's family uses: the one table the Flax port reads them from.

The maps themselves are the PyTorch side's (warmseq.checkpoints); this table pairs them with a model_type
until the family record holds them (swap `key_maps_for` for a lookup there)."""

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
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.spec import TransformerSpec


@dataclass(frozen=True)
class FamilyKeyMaps:
    encoder: Callable[[TransformerSpec], KeyMap]  # the family's encoder class (BertModel, ...)
    decoder: Callable[[TransformerSpec, bool], KeyMap]  # its causal LM; the flag: LM head tied to the embeddings


KEY_MAPS: dict[str, FamilyKeyMaps] = {
    "bert": FamilyKeyMaps(bert_encoder_map, bert_lm_map),
    "roberta": FamilyKeyMaps(roberta_encoder_map, roberta_lm_map),
    "xlm-roberta": FamilyKeyMaps(roberta_encoder_map, roberta_lm_map),
    "electra": FamilyKeyMaps(electra_encoder_map, electra_lm_map),
    "bert-generation": FamilyKeyMaps(bert_generation_encoder_map, bert_generation_lm_map),
    "gpt2": FamilyKeyMaps(gpt2_body_map, gpt2_lm_map),
    "bart": FamilyKeyMaps(bart_encoder_map, bart_causal_lm_map),
}


def key_maps_for(config: PretrainedConfig) -> FamilyKeyMaps:
    if config.model_type not in KEY_MAPS:
        raise ValueError(f"model_type {config.model_type!r} has no Flax port; supported: {sorted(KEY_MAPS)}")
    return KEY_MAPS[config.model_type]
