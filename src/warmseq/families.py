"""One record per model family: the single place a family is registered.

Every registry derives from `FAMILIES`: `AutoConfig` (config class by `model_type`), `AutoModel` and
`AutoModelForCausalLM` (encoder and decoder classes), `AutoTokenizer` (tokenizer by `model_type` or
by `tokenizer_class`), `warmseq inspect` (which config.json fields are the sizes) and the public names
of `warmseq` and `warmseq.configs`. Adding a family is its own files (config, key map, modules) plus
one record here.

No tensor library is imported: the records hold config classes and key-map functions (both run
without torch) and name the PyTorch classes and the tokenizer class, which load on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from warmseq.checkpoints.bart import bart_causal_lm_map, bart_encoder_map
from warmseq.checkpoints.bert import bert_encoder_map, bert_lm_map
from warmseq.checkpoints.bert_generation import bert_generation_encoder_map, bert_generation_lm_map
from warmseq.checkpoints.electra import electra_encoder_map, electra_lm_map
from warmseq.checkpoints.gpt2 import gpt2_body_map, gpt2_lm_map
from warmseq.checkpoints.keymap import KeyMap
from warmseq.checkpoints.roberta import roberta_encoder_map, roberta_lm_map
from warmseq.configs.bart import BartConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.bert import BertConfig
from warmseq.configs.bert_generation import BertGenerationConfig
from warmseq.configs.electra import ElectraConfig
from warmseq.configs.gpt2 import GPT2Config
from warmseq.configs.roberta import RobertaConfig, XLMRobertaConfig
from warmseq.configs.spec import TransformerSpec

# what `warmseq inspect` prints of a config: label -> config.json field, in the order printed
BERT_LAYOUT_SIZES = (("layers", "num_hidden_layers"), ("hidden", "hidden_size"), ("heads", "num_attention_heads"),
                     ("vocab", "vocab_size"), ("max_positions", "max_position_embeddings"))


@dataclass(frozen=True)
class Family:
    """Everything warmseq knows of one model family, by the `model_type` of its config.json.

    How a config becomes a `TransformerSpec` is the config class's `to_spec()`; the key maps are plain
    functions of that spec (they transform torch tensors and NumPy arrays alike), so every framework
    loads the same files through them. The PyTorch classes are named, not imported, so that reading a
    record never imports torch. The JAX and TensorFlow ports need no field of their own: they name their
    classes after these ("Flax" + `encoder`, "TF" + `decoder`, ...) and take the config and key maps
    from the record.
    """

    config_class: type[PretrainedConfig]
    modeling_module: str  # the module holding the PyTorch classes below
    encoder: str  # the class in the encoder seat of a pair (BertModel)
    decoder: str  # the causal-LM class in the decoder seat (BertLMHeadModel)
    encoder_key_map: Callable[[TransformerSpec], KeyMap]
    decoder_key_map: Callable[[TransformerSpec, bool], KeyMap]  # (spec, LM head tied to the embeddings)
    tokenizer: str | None = None  # a class of warmseq.tokenization; None: chosen from the files present
    tokenizer_class_name: str | None = None  # what tokenizer_config.json's `tokenizer_class` says for it
    sizes: tuple[tuple[str, str], ...] = BERT_LAYOUT_SIZES
    labels_pre_shifted: bool = False  # the decoder's labels[:, i] is the target of logits[:, i] (BART)
    other_names: tuple[str, ...] = ()  # further public names in `modeling_module` (aliases)

    @property
    def model_type(self) -> str:
        return self.config_class.model_type

    @property
    def encoder_class(self) -> type:
        return getattr(importlib.import_module(self.modeling_module), self.encoder)

    @property
    def decoder_class(self) -> type:
        return getattr(importlib.import_module(self.modeling_module), self.decoder)

    def model_names(self) -> tuple[str, ...]:
        return (self.encoder, self.decoder, *self.other_names)


FAMILIES: tuple[Family, ...] = (
    Family(BertConfig, "warmseq.modeling.bert", "BertModel", "BertLMHeadModel", bert_encoder_map, bert_lm_map,
           tokenizer="BertTokenizer", tokenizer_class_name="BertTokenizer", other_names=("BertForCausalLM",)),
    Family(RobertaConfig, "warmseq.modeling.roberta", "RobertaModel", "RobertaForCausalLM",
           roberta_encoder_map, roberta_lm_map, tokenizer="RobertaTokenizer", tokenizer_class_name="RobertaTokenizer"),
    # XLM-R's own tokenizer is SentencePiece: loaded from its tokenizer.json as a plain Tokenizer
    Family(XLMRobertaConfig, "warmseq.modeling.roberta", "XLMRobertaModel", "XLMRobertaForCausalLM",
           roberta_encoder_map, roberta_lm_map),
    Family(ElectraConfig, "warmseq.modeling.electra", "ElectraModel", "ElectraForCausalLM",
           electra_encoder_map, electra_lm_map, tokenizer="BertTokenizer", tokenizer_class_name="ElectraTokenizer",
           sizes=(*BERT_LAYOUT_SIZES[:2], ("embedding_size", "embedding_size"), *BERT_LAYOUT_SIZES[2:])),
    Family(BertGenerationConfig, "warmseq.modeling.bert_generation", "BertGenerationEncoder",
           "BertGenerationDecoder", bert_generation_encoder_map, bert_generation_lm_map),
    Family(GPT2Config, "warmseq.modeling.gpt2", "GPT2Model", "GPT2LMHeadModel", gpt2_body_map, gpt2_lm_map,
           tokenizer="GPT2Tokenizer", tokenizer_class_name="GPT2Tokenizer",
           sizes=(("layers", "n_layer"), ("hidden", "n_embd"), ("heads", "n_head"), ("vocab", "vocab_size"),
                  ("max_positions", "n_positions"))),
    Family(BartConfig, "warmseq.modeling.bart", "BartEncoder", "BartForCausalLM", bart_encoder_map,
           bart_causal_lm_map, tokenizer="BartTokenizer", tokenizer_class_name="BartTokenizer",
           sizes=(("layers", "encoder_layers"), ("decoder_layers", "decoder_layers"), ("hidden", "d_model"),
                  ("heads", "encoder_attention_heads"), ("vocab", "vocab_size"),
                  ("max_positions", "max_position_embeddings")),
           labels_pre_shifted=True),
)

FAMILY_BY_TYPE: dict[str, Family] = {family.model_type: family for family in FAMILIES}


def family_for(model_type: object, where: str) -> Family:
    """The record of `model_type`; `where` (a file, a class, an argument) starts the error message."""
    if model_type is None:
        raise ValueError(f"{where}: no 'model_type' field; expected one of {sorted(FAMILY_BY_TYPE)}")
    if model_type not in FAMILY_BY_TYPE:
        raise ValueError(
            f"{where}: model_type {model_type!r} is not supported by warmseq; supported: {sorted(FAMILY_BY_TYPE)}"
        )
    return FAMILY_BY_TYPE[model_type]  # type: ignore[index]


def config_names() -> dict[str, type[PretrainedConfig]]:
    """Public name -> config class, for every family."""
    return {family.config_class.__name__: family.config_class for family in FAMILIES}


def model_names() -> dict[str, Family]:
    """Public name of every PyTorch class -> the family that holds it."""
    return {name: family for family in FAMILIES for name in family.model_names()}


def public_object(name: str) -> Any:
    """The config class or PyTorch class a family publishes under `name`; None when no family does."""
    configs = config_names()
    if name in configs:
        return configs[name]
    family = model_names().get(name)
    return None if family is None else getattr(importlib.import_module(family.modeling_module), name)
