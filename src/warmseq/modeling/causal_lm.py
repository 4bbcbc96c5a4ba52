"""Decoders: a causal transformer stack with cross-attention and a language-model head."""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.field_support import check_fields
from warmseq.configs.spec import TransformerSpec
from warmseq.families import family_for
from warmseq.modeling.block import activation_fn
from warmseq.modeling.cache import DecoderCache
from warmseq.modeling.inputs import check_token_ids
from warmseq.modeling.linear import Linear, linear
from warmseq.modeling.outputs import CausalLMOutput, as_tuple
from warmseq.modeling.pretrained import PreTrainedModel
from warmseq.modeling.stack import TransformerStack

logger = logging.getLogger("warmseq")


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


class BaseModelView(nn.Module):
    """A decoder's body as the original's code reaches it, `model._modules[model.base_model_prefix]`: its
    `state_dict()` names match an encoder's (`stack.*`), so `encoder.load_state_dict(view.state_dict(),
    strict=False)` copies a decoder into an encoder as it does in the original. Not registered anywhere."""

    def __init__(self, stack: TransformerStack) -> None:
        super().__init__()
        self.stack = stack


class ChildModules(dict):
    """A causal LM's `_modules`: the module table torch keeps, which also answers a lookup of the family's
    base-model prefix with a `BaseModelView` (iteration, `in` and `.get` see only the real children)."""

    def __init__(self, children: dict[str, nn.Module], base_model_prefix: str) -> None:
        super().__init__(children)
        self.base_model_prefix = base_model_prefix

    def __missing__(self, key: str) -> nn.Module:
        if key and key == self.base_model_prefix and "stack" in self:
            return BaseModelView(self["stack"])
        raise KeyError(key)


class CausalLM(PreTrainedModel):
    """Base of the decoder families; a family adds its config class (its key map is the record's)."""

    uses_base_prefix = True

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        check_fields(config, type(self).__name__)
        self.spec = config.to_spec()
        self.stack = TransformerStack(self.spec)
        self.lm_head = LMHead(self.spec, tied=config.tie_word_embeddings)
        self.__dict__["_modules"] = ChildModules(self._modules, self.base_model_prefix)
        self.init_weights()
        if self.lm_head.bias is not None:
            nn.init.zeros_(self.lm_head.bias)

    @property
    def has_cross_attention(self) -> bool:
        return self.spec.has_cross_attention

    @property
    def hidden_size(self) -> int:
        return self.spec.hidden_size

    @property
    def shifts_labels(self) -> bool:
        """labels[i] is the target of logits[i - 1], unless the family's labels come pre-shifted (BART)."""
        return not family_for(self.config.model_type, type(self).__name__).labels_pre_shifted

    def key_map(self) -> KeyMap:
        return family_for(self.config.model_type, type(self).__name__).decoder_key_map(
            self.spec, self.config.tie_word_embeddings)

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

    def init_cross_attention_from_self(self) -> None:
        """Start every layer's cross-attention as a copy of its self-attention (`Block.init_cross_attention_from_self`),
        and say so: the load report listed those weights as newly initialised."""
        for block in self.stack.layers:
            block.init_cross_attention_from_self()
        logger.info("%s: cross-attention of layers {0..%d} starts as a copy of each layer's self-attention "
                    "(the weights the load report lists as newly initialised start from these copies)",
                    type(self).__name__, len(self.stack.layers) - 1)

    # ---- cached decoding ------------------------------------------------------------------
    def new_cache(self, rows: int, capacity: int, memory: Tensor, memory_mask: Tensor | None) -> DecoderCache:
        return self.stack.new_cache(rows, capacity, memory, memory_mask)

    def decode(self, tokens: Tensor, cache: DecoderCache) -> Tensor:
        """Hidden states of the last new token (rows, hidden), extending the cache."""
        return self.stack.decode(tokens, cache)[:, -1]
