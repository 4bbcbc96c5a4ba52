"""A stack of blocks with its embeddings: the body of every encoder and decoder."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from warmseq.configs.spec import TransformerSpec
from warmseq.modeling.attention import padding_mask
from warmseq.modeling.block import Block
from warmseq.modeling.cache import DecoderCache, StaticDecoderCache
from warmseq.modeling.calibration import current_plan
from warmseq.modeling.embeddings import Embeddings
from warmseq.modeling.memory_bags import MemoryBags, keys_laid_out_transposed
from warmseq.modeling.outputs import StackRecord


class TransformerStack(nn.Module):
    def __init__(self, spec: TransformerSpec) -> None:
        super().__init__()
        spec.check()
        self.spec = spec
        self.embeddings = Embeddings(spec)
        self.layers = nn.ModuleList(Block(spec) for _ in range(spec.num_layers))
        self.final_norm = nn.LayerNorm(spec.hidden_size, eps=spec.norm_eps) if spec.final_norm else None
        self.gradient_checkpointing = False

    def forward(
        self,
        tokens: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
        record: StackRecord | None = None,
    ) -> Tensor:
        """Hidden states (batch, seq, hidden) of a whole sequence, no cache.

        `attention_mask` (batch, seq) and `memory_mask` (batch, src_len) are 0/1 padding masks. With a
        `record`, the weights are formed explicitly and it collects what it asks for."""
        if record is not None:
            return self.forward_recorded(tokens, attention_mask, token_type_ids, memory, memory_mask, record)
        x = self.embeddings(tokens, 0, token_type_ids)
        mask, is_causal = self.self_attention_mask(attention_mask, tokens.shape[1], x.dtype)
        if memory_mask is not None:
            memory_mask = padding_mask(memory_mask)
        for layer in self.layers:
            memory_kv = layer.cross_attn.project_memory(memory) if memory is not None and layer.cross_attn else None
            if self.gradient_checkpointing and self.training:
                x = checkpoint(layer, x, mask, is_causal, memory_kv, memory_mask, use_reentrant=False)
            else:
                x = layer(x, mask, is_causal, memory_kv, memory_mask)
        return self.final_norm(x) if self.final_norm is not None else x

    def forward_recorded(
        self,
        tokens: Tensor,
        attention_mask: Tensor | None,
        token_type_ids: Tensor | None,
        memory: Tensor | None,
        memory_mask: Tensor | None,
        record: StackRecord,
    ) -> Tensor:
        """`forward`, filling `record` (the slow path: attention weights formed explicitly)."""
        x = self.embeddings(tokens, 0, token_type_ids)
        mask, is_causal = self.self_attention_mask(attention_mask, tokens.shape[1], x.dtype)
        if memory_mask is not None:
            memory_mask = padding_mask(memory_mask)
        for layer in self.layers:
            memory_kv = layer.cross_attn.project_memory(memory) if memory is not None and layer.cross_attn else None
            y, self_weights, cross_weights = layer.forward_with_weights(x, mask, is_causal, memory_kv, memory_mask)
            record.layer(x, self_weights, cross_weights)
            x = y
        x = self.final_norm(x) if self.final_norm is not None else x
        record.last(x)
        return x

    def self_attention_mask(
        self, attention_mask: Tensor | None, seq: int, dtype: torch.dtype
    ) -> tuple[Tensor | None, bool]:
        if attention_mask is None or bool(attention_mask.all()):
            return None, self.spec.is_causal
        mask = padding_mask(attention_mask)  # (batch, 1, 1, seq)
        if self.spec.is_causal:
            mask = mask & torch.ones(seq, seq, dtype=torch.bool, device=mask.device).tril()
        # bool, not additive: SDPA gives a query with no visible key a zero output, as the peer does
        # (e.g. a decoder start token that equals pad_token_id and is masked); see docs/gpt2-special-ids.md
        return mask, False

    # ---- cached decoding ------------------------------------------------------------------
    def project_memory(self, memory: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Each layer's cross-attention keys/values for the encoder states, computed once per source."""
        return [layer.cross_attn.project_memory(memory) for layer in self.layers]

    def memory_state(
        self, memory: Tensor, memory_mask: Tensor | None, for_bags: bool = False
    ) -> tuple[list[tuple[Tensor, Tensor]], Tensor | None]:
        """Each layer's cross-attention keys and values, and the attention mask of the sources (or None).
        `for_bags`: the keys laid out for `memory_bags.attend_bags` (same shape and values)."""
        # a mask that hides nothing only slows every step's cross-attention down
        mask = padding_mask(memory_mask) if memory_mask is not None and not bool(memory_mask.all()) else None
        # (sources, heads, src_len, head_dim) keys and values in a layout of their own: read at every step,
        # laid out once
        lay_out_keys = keys_laid_out_transposed if for_bags else Tensor.contiguous
        return [(lay_out_keys(k), v.contiguous()) for k, v in self.project_memory(memory)], mask

    def new_cache(self, rows: int, capacity: int, memory: Tensor, memory_mask: Tensor | None) -> DecoderCache:
        spec = self.spec
        sources = memory.shape[0]
        bags = spec.has_cross_attention and bags_pay(memory, sources)
        memory_kv, mask = self.memory_state(memory, memory_mask, for_bags=bags)
        cache = DecoderCache.allocate(rows, spec.num_layers, spec.num_heads, spec.head_dim, capacity, memory_kv, mask)
        if bags:
            cache.memory_bags = MemoryBags.build(sources, spec.num_heads, rows // sources, memory.shape[1],
                                                 spec.head_dim, memory.device)
        return cache

    def new_static_cache(
        self, rows: int, capacity: int, memory_kv: list[tuple[Tensor, Tensor]], mask: Tensor | None
    ) -> StaticDecoderCache:
        """A cache of fixed shapes for `decode_static` (`memory_state` gives `memory_kv` and `mask`)."""
        spec = self.spec
        return StaticDecoderCache.allocate(rows, spec.num_layers, spec.num_heads, spec.head_dim, capacity,
                                           memory_kv, mask)

    def decode_static(self, tokens: Tensor, cache: StaticDecoderCache) -> Tensor:
        """Hidden states (rows, 1, hidden) of one new token per row; every shape is the same at every step."""
        cache.start_step()
        x = self.embeddings(tokens, cache.position)
        for layer, layer_cache, memory_kv in zip(self.layers, cache.layers, cache.memory_kv, strict=True):
            x = layer(x, None, True, memory_kv, cache.memory_mask, layer_cache)
        cache.position.add_(1)
        return self.final_norm(x) if self.final_norm is not None else x

    def decode(self, tokens: Tensor, cache: DecoderCache) -> Tensor:
        """Hidden states of the new `tokens` (rows, n), reading and extending `cache`."""
        x = self.embeddings(tokens, cache.position)
        one_step = tokens.shape[1] == 1 and not self.training  # `Block.step`'s case: the usual one
        for layer, layer_cache, memory_kv in zip(self.layers, cache.layers, cache.memory_kv, strict=True):
            if one_step:
                x = layer.step(x, memory_kv, cache.memory_mask, layer_cache, cache.memory_bags)
            else:
                x = layer(x, None, True, memory_kv, cache.memory_mask, layer_cache)
        cache.position += tokens.shape[1]
        return self.final_norm(x) if self.final_norm is not None else x

    def decode_recorded(self, tokens: Tensor, cache: DecoderCache, record: StackRecord) -> Tensor:
        """`decode`, filling `record` (generate() with output_attentions / output_hidden_states)."""
        x = self.embeddings(tokens, cache.position)
        for layer, layer_cache, memory_kv in zip(self.layers, cache.layers, cache.memory_kv, strict=True):
            y, self_weights, cross_weights = layer.forward_with_weights(
                x, None, True, memory_kv, cache.memory_mask, layer_cache
            )
            record.layer(x, self_weights, cross_weights)
            x = y
        cache.position += tokens.shape[1]
        x = self.final_norm(x) if self.final_norm is not None else x
        record.last(x)
        return x


def bags_pay(memory: Tensor, sources: int) -> bool:
    """Whether decode steps over `sources` sources take cross-attention by `memory_bags` here: CPU, float32,
    where the kernel plan measured it faster."""
    return memory.device.type == "cpu" and memory.dtype == torch.float32 and current_plan().bags_pay(sources)
