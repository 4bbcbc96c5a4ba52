"""warmseq on JAX: Flax NNX twins of the PyTorch models, reading and writing the same checkpoint folders.

Needs the `flax` extra (`pip install "warmseq[flax]"`); `from warmseq import FlaxEncoderDecoderModel` loads
this package on first use."""

from warmseq.flax.causal_lm import FlaxCausalLM
from warmseq.flax.encoder import FlaxEncoderModel
from warmseq.flax.encoder_decoder import FlaxEncoderDecoderModel
from warmseq.flax.families import (
    FlaxBartEncoder,
    FlaxBartForCausalLM,
    FlaxBertGenerationDecoder,
    FlaxBertGenerationEncoder,
    FlaxBertLMHeadModel,
    FlaxBertModel,
    FlaxElectraForCausalLM,
    FlaxElectraModel,
    FlaxGPT2LMHeadModel,
    FlaxGPT2Model,
    FlaxRobertaForCausalLM,
    FlaxRobertaModel,
    FlaxXLMRobertaForCausalLM,
    FlaxXLMRobertaModel,
)
from warmseq.flax.training import make_train_step

FlaxBertForCausalLM = FlaxBertLMHeadModel  # the other name the PyTorch side uses for this model

__all__ = [
    "FlaxBartEncoder", "FlaxBartForCausalLM", "FlaxBertForCausalLM", "FlaxBertGenerationDecoder",
    "FlaxBertGenerationEncoder", "FlaxBertLMHeadModel", "FlaxBertModel", "FlaxCausalLM", "FlaxElectraForCausalLM",
    "FlaxElectraModel", "FlaxEncoderDecoderModel", "FlaxEncoderModel", "FlaxGPT2LMHeadModel", "FlaxGPT2Model",
    "FlaxRobertaForCausalLM", "FlaxRobertaModel", "FlaxXLMRobertaForCausalLM", "FlaxXLMRobertaModel",
    "make_train_step",
]
