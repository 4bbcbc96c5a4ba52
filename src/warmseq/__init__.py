"""warmseq: sequence-to-sequence models warm-started from a pretrained encoder and decoder."""

import importlib

from warmseq.configs import AutoConfig, EncoderDecoderConfig, PretrainedConfig
from warmseq.families import config_names, model_names, public_object
from warmseq.generation import GenerateOutput, GenerationConfig
from warmseq.modeling.auto import AutoModel, AutoModelForCausalLM
from warmseq.modeling.encoder_decoder import EncoderDecoderModel
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

# Each family's config and PyTorch classes (BertConfig, BertModel, ...) are named by its record in
# warmseq/families.py and load on first use.
# The ports load on first use, so `import warmseq` never imports JAX or TensorFlow:
# `Flax*` names come from warmseq.flax (extra "flax"), `TF*` names from warmseq.tf (extra "tf").
_PORTS = {
    "Flax": ("warmseq.flax", "flax", ("jax", "flax", "optax")),
    "TF": ("warmseq.tf", "tf", ("tensorflow", "keras")),
}


def __getattr__(name: str) -> object:
    found = public_object(name)
    if found is not None:
        return found
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


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AutoConfig", "AutoModel", "AutoModelForCausalLM", "AutoTokenizer",
    "BartTokenizer", "BartTokenizerFast", "BatchEncoding", "BertTokenizer", "BertTokenizerFast",
    "EncoderDecoderConfig", "EncoderDecoderModel", "GPT2Tokenizer", "GPT2TokenizerFast",
    "GenerateOutput", "GenerationConfig",
    "PreTrainedTokenizer", "PreTrainedTokenizerFast", "PretrainedConfig",
    "RobertaTokenizer", "RobertaTokenizerFast",
    *config_names(), *model_names(),
]
