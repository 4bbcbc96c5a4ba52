"""warmseq: sequence-to-sequence models warm-started from a pretrained encoder and decoder."""

import importlib

from warmseq.configs import (
    AutoConfig,
    BartConfig,
    BertConfig,
    BertGenerationConfig,
    ElectraConfig,
    EncoderDecoderConfig,
    GPT2Config,
    PretrainedConfig,
    RobertaConfig,
    XLMRobertaConfig,
)
from warmseq.generation import GenerateOutput, GenerationConfig
from warmseq.modeling.auto import AutoModel, AutoModelForCausalLM
from warmseq.modeling.bart import BartEncoder, BartForCausalLM
from warmseq.modeling.bert import BertForCausalLM, BertLMHeadModel, BertModel
from warmseq.modeling.bert_generation import BertGenerationDecoder, BertGenerationEncoder
from warmseq.modeling.electra import ElectraForCausalLM, ElectraModel
from warmseq.modeling.encoder_decoder import EncoderDecoderModel
from warmseq.modeling.gpt2 import GPT2LMHeadModel, GPT2Model
from warmseq.modeling.roberta import RobertaForCausalLM, RobertaModel, XLMRobertaForCausalLM, XLMRobertaModel
from warmseq.tokenization import (
    AutoTokenizer,
    BartTokenizer,
    BartTokenizerFast,
    BatchEncoding,
    BertTokenizer,
    BertTokenizerFast,
    GPT2Tokenizer,
    GPT2TokenizerFast,
    PreTrainedTokenizer,
    PreTrainedTokenizerFast,
    RobertaTokenizer,
    RobertaTokenizerFast,
)

__version__ = "0.1.0"

# The ports load on first use, so `import warmseq` never imports JAX or TensorFlow:
# `Flax*` names come from warmseq.flax (extra "flax"), `TF*` names from warmseq.tf (extra "tf").
_PORTS = {
    "Flax": ("warmseq.flax", "flax", ("jax", "flax", "optax")),
    "TF": ("warmseq.tf", "tf", ("tensorflow", "keras")),
}


def __getattr__(name: str) -> object:
    for prefix, (module_name, extra, libraries) in _PORTS.items():
        if name.startswith(prefix):
            try:
                module = importlib.import_module(module_name)
            except ImportError as error:
                if getattr(error, "name", None) and error.name.split(".")[0] in libraries:
                    raise ImportError(
                        f"warmseq.{name} needs the {extra!r} extra, which is not installed "
                        f"(no module {error.name!r}): pip install \"warmseq[{extra}]\""
                    ) from error
                raise
            return getattr(module, name)
    raise AttributeError(f"module 'warmseq' has no attribute {name!r}")

__all__ = [
    "AutoConfig", "AutoModel", "AutoModelForCausalLM", "AutoTokenizer",
    "BartConfig", "BartEncoder", "BartForCausalLM", "BartTokenizer", "BartTokenizerFast", "BatchEncoding",
    "BertConfig", "BertForCausalLM", "BertGenerationConfig", "BertGenerationDecoder", "BertGenerationEncoder",
    "BertLMHeadModel", "BertModel", "BertTokenizer", "BertTokenizerFast",
    "ElectraConfig", "ElectraForCausalLM", "ElectraModel",
    "EncoderDecoderConfig", "EncoderDecoderModel",
    "GPT2Config", "GPT2LMHeadModel", "GPT2Model", "GPT2Tokenizer", "GPT2TokenizerFast",
    "GenerateOutput", "GenerationConfig",
    "PreTrainedTokenizer", "PreTrainedTokenizerFast", "PretrainedConfig",
    "RobertaConfig", "RobertaForCausalLM", "RobertaModel", "RobertaTokenizer", "RobertaTokenizerFast",
    "XLMRobertaConfig", "XLMRobertaForCausalLM", "XLMRobertaModel",
]
