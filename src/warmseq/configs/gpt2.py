"""GPT-2's config.json fields, and how they read as a transformer stack."""

from __future__ import annotations

from typing import Any

from warmseq.configs.aliases import AliasedConfig
from warmseq.configs.spec import TransformerSpec

# The generic names the original API also accepts for GPT-2's own field names.
GPT2_ALIASES = {
    "hidden_size": "n_embd",
    "max_position_embeddings": "n_positions",
    "num_attention_heads": "n_head",
    "num_hidden_layers": "n_layer",
}


class GPT2Config(AliasedConfig):
    """GPT-2: pre-norm blocks, a final LayerNorm (`ln_f`), learned positions, no token types.

    `hidden_size`, `num_hidden_layers`, `num_attention_heads` and `max_position_embeddings` read and
    write `n_embd`, `n_layer`, `n_head` and `n_positions`."""

    model_type = "gpt2"
    aliases = GPT2_ALIASES
    defaults: dict[str, Any] = {
        "vocab_size": 50257,
        "n_positions": 1024,
        "n_embd": 768,
        "n_layer": 12,
        "n_head": 12,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.1,
        "embd_pdrop": 0.1,
        "attn_pdrop": 0.1,
        "layer_norm_epsilon": 1e-5,
        "initializer_range": 0.02,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "summary_activation": None,
        "summary_proj_to_labels": True,
        "summary_first_dropout": 0.1,
        "scale_attn_weights": True,
        "use_cache": True,
        "bos_token_id": 50256,
        "eos_token_id": 50256,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
    }

    def to_spec(self) -> TransformerSpec:
        if not self.scale_attn_weights or self.scale_attn_by_inverse_layer_idx:
            raise ValueError(
                "GPT2Config: scale_attn_weights=False and scale_attn_by_inverse_layer_idx=True are not supported "
                "by warmseq; expected the GPT-2 defaults (scale_attn_weights=True, "
                "scale_attn_by_inverse_layer_idx=False)"
            )
        return TransformerSpec(
            vocab_size=self.vocab_size,
            hidden_size=self.n_embd,
            num_layers=self.n_layer,
            num_heads=self.n_head,
            intermediate_size=self.n_inner if self.n_inner is not None else 4 * self.n_embd,
            max_positions=self.n_positions,
            activation=self.activation_function,
            norm_eps=self.layer_norm_epsilon,
            norm_first=True,
            embedding_norm=False,
            final_norm=True,
            pad_token_id=None,  # GPT-2's wte has no padding row: pad is usually eos, which must keep learning
            dropout=self.resid_pdrop,
            attention_dropout=self.attn_pdrop,
            embedding_dropout=self.embd_pdrop,
            initializer_range=self.initializer_range,
            is_causal=True,  # GPT-2 attends causally even as an encoder
            has_cross_attention=self.add_cross_attention,
            lm_head_bias=False,
        )
