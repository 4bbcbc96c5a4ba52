"""warmseq on TensorFlow / Keras 3: the same models, files and generation settings as the PyTorch side.

Needs the `tf` extra (`pip install "warmseq[tf]"`). `from warmseq import TFEncoderDecoderModel` loads
this package on first use.
"""

from warmseq.tf.causal_lm import (
    TFBartForCausalLM,
    TFBertForCausalLM,
    TFBertGenerationDecoder,
    TFBertLMHeadModel,
    TFElectraForCausalLM,
    TFGPT2LMHeadModel,
    TFRobertaForCausalLM,
    TFXLMRobertaForCausalLM,
)
from warmseq.tf.encoder import (
    TFBartEncoder,
    TFBertGenerationEncoder,
    TFBertModel,
    TFElectraModel,
    TFGPT2Model,
    TFRobertaModel,
    TFXLMRobertaModel,
)
from warmseq.tf.encoder_decoder import TFEncoderDecoderModel

__all__ = [
    "TFBartEncoder", "TFBartForCausalLM", "TFBertForCausalLM", "TFBertGenerationDecoder", "TFBertGenerationEncoder",
    "TFBertLMHeadModel", "TFBertModel", "TFElectraForCausalLM", "TFElectraModel", "TFEncoderDecoderModel",
    "TFGPT2LMHeadModel", "TFGPT2Model", "TFRobertaForCausalLM", "TFRobertaModel", "TFXLMRobertaForCausalLM",
    "TFXLMRobertaModel",
]
