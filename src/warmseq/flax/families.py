"""The Flax classes of each family, named after the PyTorch ones, and the pick of a class by config.

A family differs from the generic encoder and causal LM only by its config class, and by the few things
its PyTorch class does too: BERT's pooler, GPT-2's initialisation, BART's decoder settings."""

from __future__ import annotations

import math
import os

import jax.numpy as jnp
import numpy as np
from flax import nnx

from warmseq.checkpoints.keymap import LoadReport
from warmseq.configs.bart import BartConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.bert import BertConfig
from warmseq.configs.bert_generation import BertGenerationConfig
from warmseq.configs.electra import ElectraConfig
from warmseq.configs.gpt2 import GPT2Config
from warmseq.configs.roberta import RobertaConfig, XLMRobertaConfig
from warmseq.families import family_for
from warmseq.flax.causal_lm import FlaxCausalLM
from warmseq.flax.encoder import FlaxEncoderModel
from warmseq.flax.linear import Dtype, normal
from warmseq.modeling.bart import warn_if_final_logits_bias, with_token_embeddings


class FlaxBertModel(FlaxEncoderModel):
    """BERT encoder. Its pooler is kept (loaded and saved, never trained) as plain variables."""

    config_class = BertConfig

    def __init__(self, config: PretrainedConfig, seed: int = 0, dtype: Dtype = jnp.float32,
                 rngs: nnx.Rngs | None = None) -> None:
        rngs = rngs or nnx.Rngs(seed)
        super().__init__(config, seed, dtype, rngs)
        h = config.hidden_size
        self.pooler_weight = nnx.Variable(normal(config.initializer_range)(rngs.params(), (h, h)))
        self.pooler_bias = nnx.Variable(jnp.zeros(h))


class FlaxBertLMHeadModel(FlaxCausalLM):
    config_class = BertConfig


class FlaxRobertaModel(FlaxBertModel):
    config_class = RobertaConfig


class FlaxRobertaForCausalLM(FlaxCausalLM):
    config_class = RobertaConfig


class FlaxXLMRobertaModel(FlaxRobertaModel):
    config_class = XLMRobertaConfig  # same model, other config defaults


class FlaxXLMRobertaForCausalLM(FlaxRobertaForCausalLM):
    config_class = XLMRobertaConfig  # same model, other config defaults


class FlaxElectraModel(FlaxEncoderModel):
    config_class = ElectraConfig


class FlaxElectraForCausalLM(FlaxCausalLM):
    config_class = ElectraConfig


class FlaxBertGenerationEncoder(FlaxEncoderModel):
    config_class = BertGenerationConfig


class FlaxBertGenerationDecoder(FlaxCausalLM):
    config_class = BertGenerationConfig


def scale_residual_projections(model: FlaxEncoderModel | FlaxCausalLM, std: float, rngs: nnx.Rngs) -> None:
    """GPT-2's initialisation: projections that write into the residual stream start with
    std / sqrt(2 * layers), so the stream's variance does not grow with depth."""
    scaled = std / math.sqrt(2 * model.spec.num_layers)
    for layer in model.stack.layers:
        for dense in (layer.self_attn.out, layer.ffn.down, layer.cross_attn and layer.cross_attn.out):
            if dense is not None:
                dense.kernel.value = normal(scaled)(rngs.params(), dense.kernel.value.shape)


class FlaxGPT2Model(FlaxEncoderModel):
    """GPT-2's body used as an encoder: causal self-attention over the source."""

    config_class = GPT2Config

    def __init__(self, config: PretrainedConfig, seed: int = 0, dtype: Dtype = jnp.float32,
                 rngs: nnx.Rngs | None = None) -> None:
        rngs = rngs or nnx.Rngs(seed)
        super().__init__(config, seed, dtype, rngs)
        scale_residual_projections(self, config.initializer_range, rngs)


class FlaxGPT2LMHeadModel(FlaxCausalLM):
    config_class = GPT2Config

    def __init__(self, config: PretrainedConfig, seed: int = 0, dtype: Dtype = jnp.float32,
                 rngs: nnx.Rngs | None = None) -> None:
        rngs = rngs or nnx.Rngs(seed)
        super().__init__(config, seed, dtype, rngs)
        scale_residual_projections(self, config.initializer_range, rngs)


class FlaxBartEncoder(FlaxEncoderModel):
    """BART's encoder stack, read from and written to `BartModel`'s layout (docs/bart-as-encoder.md)."""

    config_class = BartConfig

    def load_checkpoint_state(self, checkpoint: dict[str, np.ndarray], source: str,
                              ignore_mismatched_sizes: bool = False) -> LoadReport:
        checkpoint = with_token_embeddings(checkpoint, ("shared.weight", "model.shared.weight"),
                                           ("encoder.embed_tokens.weight", "model.encoder.embed_tokens.weight"))
        return super().load_checkpoint_state(checkpoint, source, ignore_mismatched_sizes)


class FlaxBartForCausalLM(FlaxCausalLM):
    """BART's decoder stack with its LM head; `labels` are not shifted inside, as in the PyTorch class."""

    config_class = BartConfig

    def __init__(self, config: PretrainedConfig, seed: int = 0, dtype: Dtype = jnp.float32,
                 rngs: nnx.Rngs | None = None) -> None:
        config.is_decoder = True  # this class is BART's decoder alone
        config.is_encoder_decoder = False
        super().__init__(config, seed, dtype, rngs)

    def load_checkpoint_state(self, checkpoint: dict[str, np.ndarray], source: str | os.PathLike,
                              ignore_mismatched_sizes: bool = False) -> LoadReport:
        checkpoint = with_token_embeddings(checkpoint, ("model.decoder.embed_tokens.weight",),
                                           ("model.shared.weight",))
        warn_if_final_logits_bias(checkpoint, source)
        return super().load_checkpoint_state(checkpoint, os.fspath(source), ignore_mismatched_sizes)


def encoder_class_for(config: PretrainedConfig) -> type[FlaxEncoderModel]:
    """The Flax twin of the family record's encoder class ("Flax" + `BertModel`, ...)."""
    return globals()["Flax" + family_for(config.model_type, "warmseq's Flax port").encoder]


def decoder_class_for(config: PretrainedConfig) -> type[FlaxCausalLM]:
    """The Flax twin of the family record's causal-LM class ("Flax" + `BertLMHeadModel`, ...)."""
    return globals()["Flax" + family_for(config.model_type, "warmseq's Flax port").decoder]
