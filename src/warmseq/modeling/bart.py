"""BART's encoder stack as an encoder (`BartEncoder`) and its decoder stack as a decoder (`BartForCausalLM`)."""

from __future__ import annotations

import logging
import os

from torch import Tensor

from warmseq.checkpoints.keymap import LoadReport
from warmseq.configs.bart import BartConfig
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel

logger = logging.getLogger("warmseq")


class BartEncoder(EncoderModel):
    """BART's encoder stack. It is what warmseq builds for a `bart` config in the encoder seat of a pair.

    The original builds its whole `BartModel` there and hands the pair the BART *decoder*'s states over
    the source shifted right; warmseq uses the encoder's states instead (docs/bart-as-encoder.md).
    Checkpoints are read and written in `BartModel`'s layout (`shared`, `encoder.*`); the decoder half
    of such a checkpoint is left unread."""

    config_class = BartConfig
    base_model_prefix = "model"

    def load_checkpoint_state(
        self, checkpoint: dict[str, Tensor], source: str, ignore_mismatched_sizes: bool = False
    ) -> LoadReport:
        checkpoint = with_token_embeddings(checkpoint, ("shared.weight", "model.shared.weight"),
                                           ("encoder.embed_tokens.weight", "model.encoder.embed_tokens.weight"))
        return super().load_checkpoint_state(checkpoint, source, ignore_mismatched_sizes)


class BartForCausalLM(CausalLM):
    """BART's decoder stack with its LM head: post-norm, `layernorm_embedding`, positions offset by 2.

    Its cross-attention (`encoder_attn`) is part of every BART decoder layer, so warm-starting from a
    BART checkpoint loads it pretrained. As in the original, `labels` are not shifted inside:
    `labels[:, i]` is the target of `logits[:, i]`."""

    config_class = BartConfig
    base_model_prefix = "model"

    def __init__(self, config: BartConfig) -> None:
        config.is_decoder = True  # the original sets these too: this class is BART's decoder alone
        config.is_encoder_decoder = False
        super().__init__(config)

    def load_checkpoint_state(
        self, checkpoint: dict[str, Tensor], source: str, ignore_mismatched_sizes: bool = False
    ) -> LoadReport:
        # a seq2seq checkpoint (BartForConditionalGeneration) may keep the embeddings only as `model.shared`
        checkpoint = with_token_embeddings(checkpoint, ("model.decoder.embed_tokens.weight",),
                                           ("model.shared.weight",))
        warn_if_final_logits_bias(checkpoint, source)
        return super().load_checkpoint_state(checkpoint, source, ignore_mismatched_sizes)


def with_token_embeddings(
    checkpoint: dict[str, Tensor], wanted: tuple[str, ...], fallbacks: tuple[str, ...]
) -> dict[str, Tensor]:
    """The checkpoint with `wanted[0]` filled from the first fallback present, if no wanted key is there."""
    if any(key in checkpoint for key in wanted):
        return checkpoint
    for key in fallbacks:
        if key in checkpoint:
            return {**checkpoint, wanted[0]: checkpoint[key]}
    return checkpoint


def warn_if_final_logits_bias(checkpoint: dict[str, Tensor], source: str | os.PathLike) -> None:
    bias = checkpoint.get("final_logits_bias")
    if bias is not None and bool(bias.any()):
        logger.warning(
            "%s: final_logits_bias is non-zero but BartForCausalLM has no output bias (as in the original); "
            "it is not loaded", os.fspath(source),
        )
