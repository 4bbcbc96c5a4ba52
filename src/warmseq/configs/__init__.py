"""config.json in and out, for every family and for encoder-decoder pairs."""

from warmseq.configs.auto import AutoConfig, register_config
from warmseq.configs.bart import BartConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.bert import BertConfig
from warmseq.configs.bert_generation import BertGenerationConfig
from warmseq.configs.electra import ElectraConfig
from warmseq.configs.encoder_decoder import EncoderDecoderConfig
from warmseq.configs.gpt2 import GPT2Config
from warmseq.configs.roberta import RobertaConfig, XLMRobertaConfig
from warmseq.configs.spec import TransformerSpec

for _cls in (BertConfig, EncoderDecoderConfig):
    register_config(_cls)
for _cls in (GPT2Config, BartConfig):
    register_config(_cls)
for _cls in (RobertaConfig, XLMRobertaConfig, ElectraConfig, BertGenerationConfig):
    register_config(_cls)

__all__ = [
    "AutoConfig",
    "BartConfig",
    "BertConfig",
    "BertGenerationConfig",
    "ElectraConfig",
    "EncoderDecoderConfig",
    "GPT2Config",
    "PretrainedConfig",
    "RobertaConfig",
    "TransformerSpec",
    "XLMRobertaConfig",
]
