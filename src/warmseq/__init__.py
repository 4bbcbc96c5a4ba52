"""warmseq: sequence-to-sequence models warm-started from a pretrained encoder and decoder."""

from warmseq.configs import AutoConfig, BertConfig, EncoderDecoderConfig, PretrainedConfig
from warmseq.generation import GenerateOutput, GenerationConfig
from warmseq.modeling.auto import AutoModel, AutoModelForCausalLM
from warmseq.modeling.bert import BertForCausalLM, BertLMHeadModel, BertModel
from warmseq.modeling.encoder_decoder import EncoderDecoderModel

__version__ = "0.1.0"

__all__ = [
    "AutoConfig",
    "AutoModel",
    "AutoModelForCausalLM",
    "BertConfig",
    "BertForCausalLM",
    "BertLMHeadModel",
    "BertModel",
    "EncoderDecoderConfig",
    "EncoderDecoderModel",
    "GenerateOutput",
    "GenerationConfig",
    "PretrainedConfig",
]
