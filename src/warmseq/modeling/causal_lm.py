"""Decoders: a causal transformer stack with cross-attention and a language-model head."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.configs.base import PretrainedConfig
from warmseq.configs.spec import TransformerSpec
from warmseq.modeling.block import activation_fn
from warmseq.modeling.cache import DecoderCache
from warmseq.modeling.inputs import check_token_ids
from warmseq.modeling.linear import Linear, linear
from warmseq.modeling.outputs import CausalLMOutput, StackRecord, as_tuple, resolve_flag
from warmseq.modeling.pretrained import PreTrainedModel
from warmseq.modeling.stack import TransformerStack


class LMHead(nn.Module):
    """Hidden states -> vocabulary logits; the projection is the word embeddings unless untied."""

    def __init__(self, spec: TransformerSpec, tied: bool) -> None:
        super().__init__()
        h, width = spec.hidden_size, spec.embedding_width
        self.transform = self.transform_norm = None
        if spec.lm_head_transform:
            self.transform = Linear(h, width)  # ELECTRA: back down to the embedding width
            self.transform_norm = nn.LayerNorm(width, eps=spec.norm_eps)
            self.activation = activation_fn(spec.lm_head_activation or spec.activation)
        self.weight = None if tied else nn.Parameter(torch.empty(spec.vocab_size, width))
        self.bias = nn.Parameter(torch.zeros(spec.vocab_size)) if spec.lm_head_bias else None

    def prepare(self, hidden: Tensor) -> Tensor:
        if self.transform is None:
            return hidden
        return self.transform_norm(self.activation(self.transform(hidden)))


class CausalLM(PreTrainedModel):
    """Base of the decoder families; a family adds its config class and key map."""

    uses_base_prefix = True
    shifts_labels: ClassVar[bool] = True  # labels[i] is the target of logits[i - 1]; BART's labels come pre-shifted

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        self.spec = config.to_spec()
        self.stack = TransformerStack(self.spec)
        self.lm_head = LMHead(self.spec, tied=config.tie_word_embeddings)
        self.init_weights()
        if self.lm_head.bias is not None:
            nn.init.zeros_(self.lm_head.bias)

    @property
    def has_cross_attention(self) -> bool:
        return self.spec.has_cross_attention

    @property
    def hidden_size(self) -> int:
        return self.spec.hidden_size

    def get_input_embeddings(self) -> nn.Embedding:
        return self.stack.embeddings.tokens

    def get_output_embeddings(self) -> Tensor:
        return self.output_weight()

    def output_weight(self) -> Tensor:
        """(vocab, hidden) projection of the LM head."""
        return self.stack.embeddings.tokens.weight if self.lm_head.weight is None else self.lm_head.weight

    def logits(self, hidden: Tensor) -> Tensor:
        return linear(self.lm_head.prepare(hidden), self.output_weight(), self.lm_head.bias)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        encoder_hidden_states: Tensor | None = None,
        encoder_attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool = True,
        **unused: object,
    ) -> CausalLMOutput:
        """Logits for every position; with `labels`, the next-token loss (labels shifted inside unless
        the family's `shifts_labels` is False). `output_*` default to the config's fields of those names."""
        check_token_ids(input_ids, "decoder input_ids", self.spec.vocab_size, self.spec.usable_positions)
        if encoder_hidden_states is not None and not self.has_cross_attention:
            raise ValueError(
                f"{type(self).__name__} was built without cross-attention (add_cross_attention=False) "
                "but received encoder_hidden_states"
            )
        record = self.record_for(output_attentions, output_hidden_states)
        hidden = self.stack(input_ids, attention_mask, None, encoder_hidden_states, encoder_attention_mask, record)
        logits = self.logits(hidden)
        loss = None
        if labels is not None:
            scored, targets = (logits[:, :-1], labels[:, 1:]) if self.shifts_labels else (logits, labels)
            loss = F.cross_entropy(scored.flatten(0, 1), targets.flatten(), ignore_index=-100)
        if record is None:
            return CausalLMOutput(loss=loss, logits=logits)
        return CausalLMOutput(loss=loss, logits=logits, hidden_states=as_tuple(record.hidden_states),
                              attentions=as_tuple(record.attentions),
                              cross_attentions=as_tuple(record.cross_attentions))

    def record_for(self, output_attentions: bool | None, output_hidden_states: bool | None) -> StackRecord | None:
        """What the caller asks the stack to collect, the config's `output_*` fields filling in None."""
        return StackRecord.asked(resolve_flag(output_hidden_states, self.config, "output_hidden_states"),
                                 resolve_flag(output_attentions, self.config, "output_attentions"))

    # ---- cached decoding ------------------------------------------------------------------
    def new_cache(self, rows: int, capacity: int, memory: Tensor, memory_mask: Tensor | None) -> DecoderCache:
        return self.stack.new_cache(rows, capacity, memory, memory_mask)

    def decode(self, tokens: Tensor, cache: DecoderCache) -> Tensor:
        """Hidden states of the last new token (rows, hidden), extending the cache."""
        return self.stack.decode(tokens, cache)[:, -1]
