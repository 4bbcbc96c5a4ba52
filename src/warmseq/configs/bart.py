"""BART's config.json fields, read as its encoder stack or its decoder stack."""

from __future__ import annotations

import math
from typing import Any

from warmseq.configs.aliases import AliasedConfig
from warmseq.configs.spec import TransformerSpec

BART_POSITION_OFFSET = 2  # BART's position table keeps two rows before position 0

BART_ALIASES = {
    "hidden_size": "d_model",
    "num_attention_heads": "encoder_attention_heads",
    "num_hidden_layers": "encoder_layers",
    "initializer_range": "init_std",
}


class BartConfig(AliasedConfig):
    """BART: post-norm blocks, `layernorm_embedding`, learned positions offset by 2, optional
    sqrt(d_model) embedding scale. `to_spec()` gives the decoder stack when `is_decoder` is set,
    the encoder stack otherwise."""

    model_type = "bart"
    aliases = BART_ALIASES
    defaults: dict[str, Any] = {
        "vocab_size": 50265,
        "max_position_embeddings": 1024,
        "encoder_layers": 12,
        "encoder_ffn_dim": 4096,
        "encoder_attention_heads": 16,
        "decoder_layers": 12,
        "decoder_ffn_dim": 4096,
        "decoder_attention_heads": 16,
        "encoder_layerdrop": 0.0,
        "decoder_layerdrop": 0.0,
        "activation_function": "gelu",
        "d_model": 1024,
        "dropout": 0.1,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "init_std": 0.02,
        "classifier_dropout": 0.0,
        "scale_embedding": False,
        "use_cache": True,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "is_encoder_decoder": True,
        "decoder_start_token_id": 2,
    }

    def to_spec(self) -> TransformerSpec:
        return self.decoder_spec() if self.is_decoder else self.encoder_spec()

    def encoder_spec(self) -> TransformerSpec:
        return self.stack_spec(self.encoder_layers, self.encoder_attention_heads, self.encoder_ffn_dim, False)

    def decoder_spec(self) -> TransformerSpec:
        """BART's decoder layers always hold cross-attention (`encoder_attn`), pretrained with the rest."""
        return self.stack_spec(self.decoder_layers, self.decoder_attention_heads, self.decoder_ffn_dim, True)

    def stack_spec(self, layers: int, heads: int, ffn: int, is_decoder: bool) -> TransformerSpec:
        return TransformerSpec(
            vocab_size=self.vocab_size,
            hidden_size=self.d_model,
            num_layers=layers,
            num_heads=heads,
            intermediate_size=ffn,
            max_positions=self.max_position_embeddings + BART_POSITION_OFFSET,
            activation=self.activation_function,
            norm_eps=1e-5,
            position_offset=BART_POSITION_OFFSET,
            embedding_scale=math.sqrt(self.d_model) if self.scale_embedding else 1.0,
            pad_token_id=self.pad_token_id,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            activation_dropout=self.activation_dropout,
            initializer_range=self.init_std,
            is_causal=is_decoder,
            has_cross_attention=is_decoder,
            lm_head_bias=False,
        )
