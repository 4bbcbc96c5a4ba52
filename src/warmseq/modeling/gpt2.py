"""GPT-2 as a decoder with cross-attention (`GPT2LMHeadModel`) and, rarely, as an encoder (`GPT2Model`)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from warmseq.configs.gpt2 import GPT2Config
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel
from warmseq.modeling.outputs import BaseModelOutput
from warmseq.modeling.pretrained import PreTrainedModel


def scale_residual_projections(model: PreTrainedModel, num_layers: int, std: float) -> None:
    """GPT-2's initialisation: projections that write into the residual stream start with
    std / sqrt(2 * layers), so the stream's variance does not grow with depth."""
    scaled = std / math.sqrt(2 * num_layers)
    with torch.no_grad():
        for layer in model.stack.layers:
            for linear in (layer.self_attn.out, layer.ffn.down, layer.cross_attn and layer.cross_attn.out):
                if linear is not None:
                    linear.weight.normal_(0.0, scaled)


class GPT2Model(EncoderModel):
    """GPT-2's body used as an encoder: causal self-attention over the source, as the original computes."""

    config_class = GPT2Config
    base_model_prefix = "transformer"

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        scale_residual_projections(self, config.n_layer, config.initializer_range)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, **rest: object) -> BaseModelOutput:
        if token_type_ids is not None:
            raise ValueError(
                "GPT2Model does not take token_type_ids (GPT-2 has no segment embeddings); "
                "drop them from the tokenizer output (return_token_type_ids=False)"
            )
        return super().forward(input_ids, attention_mask, **rest)


class GPT2LMHeadModel(CausalLM):
    """GPT-2 decoder: pre-norm blocks, `ln_f`, bias-free LM head tied to `wte`. In a pair, its
    cross-attention (`crossattention`, `ln_cross_attn`) starts from random values unless loaded."""

    config_class = GPT2Config
    base_model_prefix = "transformer"

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        scale_residual_projections(self, config.n_layer, config.initializer_range)
