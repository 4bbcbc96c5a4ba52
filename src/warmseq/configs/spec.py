"""One vocabulary for every family: the fields that decide how a transformer stack is built."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TransformerSpec:
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int  # rows of the position table (offset rows included)
    activation: str = "gelu"  # "gelu" (erf), "gelu_new" (tanh), "relu", ...
    norm_eps: float = 1e-12
    norm_first: bool = False  # pre-norm blocks (GPT-2); BERT and BART normalise after the residual add
    embedding_norm: bool = True  # LayerNorm right after the embeddings (BERT, BART)
    final_norm: bool = False  # LayerNorm after the last block (GPT-2's ln_f)
    type_vocab_size: int = 0  # token-type (segment) embeddings; 0 for none
    position_offset: int = 0  # index of position 0 in the position table (BART: 2, RoBERTa: pad + 1)
    positions_skip_padding: bool = False  # RoBERTa: padding tokens do not advance the position
    embedding_scale: float = 1.0  # BART with scale_embedding: sqrt(hidden)
    pad_token_id: int | None = None
    dropout: float = 0.1
    attention_dropout: float = 0.1
    embedding_dropout: float | None = None  # GPT-2's embd_pdrop (default: `dropout`)
    activation_dropout: float = 0.0  # BART: on the feed-forward's inner activations
    initializer_range: float = 0.02
    is_causal: bool = False
    has_cross_attention: bool = False
    lm_head_transform: bool = False  # BERT: dense + activation + LayerNorm before the vocabulary projection
    lm_head_activation: str | None = None  # the head transform's activation if not `activation` (RoBERTa: gelu)
    embedding_size: int | None = None  # ELECTRA: embeddings narrower than hidden, projected up (default: hidden)
    lm_head_bias: bool = True
    attention_bias: bool = True

    @property
    def usable_positions(self) -> int:
        """How many tokens one sequence may hold."""
        return self.max_positions - self.position_offset

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def embedding_width(self) -> int:
        """Width of the token embeddings (and of the LM head's projection)."""
        return self.embedding_size or self.hidden_size

    def check(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads {self.num_heads}"
            )
