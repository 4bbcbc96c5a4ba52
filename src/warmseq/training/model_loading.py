"""Build the model and tokenizers a run trains, and settle its special token ids."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .state import DECODER_TOKENIZER_DIR

logger = logging.getLogger(__name__)


def model_class() -> Any:
    """warmseq's EncoderDecoderModel (imported late: the training package loads without the model)."""
    from warmseq import EncoderDecoderModel

    return EncoderDecoderModel


def tokenizer_class() -> Any:
    from warmseq.tokenization import AutoTokenizer

    return AutoTokenizer


@dataclass(frozen=True)
class SpecialIds:
    """decoder_start: first decoder input; eos: appended to every label; pad: decoder padding;
    source_pad: encoder padding."""

    decoder_start: int
    eos: int
    pad: int
    source_pad: int


def first_set(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


def resolve_special_ids(
    source_tokenizer: Any,
    target_tokenizer: Any,
    decoder_start: int | None = None,
    eos: int | None = None,
    pad: int | None = None,
) -> SpecialIds:
    """Given ids win; else a BERT-like decoder tokenizer gives [CLS]/[SEP]/[PAD], a GPT-2-like one bos/eos."""
    decoder_start = first_set(
        decoder_start,
        getattr(target_tokenizer, "cls_token_id", None),
        getattr(target_tokenizer, "bos_token_id", None),
    )
    eos = first_set(
        eos, getattr(target_tokenizer, "sep_token_id", None), getattr(target_tokenizer, "eos_token_id", None)
    )
    if decoder_start is None:
        raise ValueError(
            "the decoder tokenizer has neither cls_token_id nor bos_token_id; pass --decoder-start-token-id"
        )
    if eos is None:
        raise ValueError("the decoder tokenizer has neither sep_token_id nor eos_token_id; pass --eos-token-id")
    pad = first_set(pad, getattr(target_tokenizer, "pad_token_id", None), eos)
    source_pad = first_set(
        getattr(source_tokenizer, "pad_token_id", None), getattr(source_tokenizer, "eos_token_id", None), 0
    )
    return SpecialIds(decoder_start, eos, pad, source_pad)  # type: ignore[arg-type]


def load_tokenizers(encoder_path: str, decoder_path: str) -> tuple[Any, Any]:
    """(source tokenizer, target tokenizer); one shared object when both paths are the same."""
    auto = tokenizer_class()
    source = auto.from_pretrained(encoder_path)
    if Path(encoder_path).resolve() == Path(decoder_path).resolve():
        return source, source
    return source, auto.from_pretrained(decoder_path)


def load_checkpoint_tokenizers(checkpoint: Path) -> tuple[Any, Any]:
    target_dir = checkpoint / DECODER_TOKENIZER_DIR
    return load_tokenizers(str(checkpoint), str(target_dir if target_dir.is_dir() else checkpoint))


def apply_special_ids(model: Any, ids: SpecialIds) -> None:
    """Write the ids into the model config and, where the model has one, its generation config."""
    for target in (model.config, getattr(model, "generation_config", None)):
        if target is None:
            continue
        target.decoder_start_token_id = ids.decoder_start
        target.eos_token_id = ids.eos
        target.pad_token_id = ids.pad


def build_model(config: TrainConfig, checkpoint: Path | None) -> Any:
    """The checkpoint's model when resuming, else the warm-started `config.encoder` + `config.decoder`."""
    cls = model_class()
    decoder_missing: list[str] | None = None  # decoder checkpoint keys left newly initialised
    if checkpoint is not None:
        model = cls.from_pretrained(str(checkpoint))
    elif config.random_init:
        model = randomly_initialised(cls, config)
    else:
        tie = {"tie_encoder_decoder": True} if config.tie_encoder_decoder else {}
        model, reports = cls.from_encoder_decoder_pretrained(
            config.encoder, config.decoder, output_loading_info=True, **tie
        )
        decoder_missing = reports.get("decoder", {}).get("missing_keys")
    if config.cross_attention_init == "self" and checkpoint is None:
        init_cross_attention_from_self(model, decoder_missing)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return model


def init_cross_attention_from_self(model: Any, decoder_missing: list[str] | None) -> int:
    """Copy each decoder layer's self-attention into its new cross-attention; return how many layers.

    The copy always fits: cross-attention reads the decoder's width (a wider or narrower encoder is
    projected by `enc_to_dec_proj`). A decoder checkpoint that left nothing newly initialised
    (`decoder_missing == []`, e.g. a seq2seq decoder) brought pretrained cross-attention: kept."""
    if decoder_missing is not None and not decoder_missing:
        logger.info("cross-attention: the decoder checkpoint holds it; kept as loaded")
        return 0
    model.decoder.init_cross_attention_from_self()
    return len(model.decoder.stack.layers)


def randomly_initialised(cls: Any, config: TrainConfig) -> Any:
    """The pair warm-starting would build, with every weight drawn fresh."""
    from warmseq.configs import AutoConfig, EncoderDecoderConfig

    encoder, decoder = AutoConfig.from_pretrained(config.encoder), AutoConfig.from_pretrained(config.decoder)
    encoder.is_decoder = encoder.add_cross_attention = False
    pair = EncoderDecoderConfig.from_encoder_decoder_configs(
        encoder, decoder, tie_encoder_decoder=config.tie_encoder_decoder
    )
    return cls(config=pair)


def load_trained_model(checkpoint: Path) -> Any:
    return model_class().from_pretrained(str(checkpoint))


def usable_positions(model: Any, role: str) -> int | None:
    """How many tokens the pair's "encoder" or "decoder" takes: its spec's `usable_positions`, which leaves
    out the rows before position 0 (RoBERTa: max_position_embeddings - 2); None for a model without a spec."""
    spec = getattr(getattr(model, role, None), "spec", None)
    return None if spec is None else spec.usable_positions


def capped_lengths(config: TrainConfig, model: Any) -> tuple[int, int]:
    """Source and target lengths, cut to what the encoder's and decoder's position tables hold."""
    source_length, target_length = config.max_source_length, config.max_target_length
    encoder_limit, decoder_limit = usable_positions(model, "encoder"), usable_positions(model, "decoder")
    if encoder_limit is not None and source_length > encoder_limit:
        logger.info(
            "--max-source-length %d exceeds the encoder's %d positions; using %d",
            source_length,
            encoder_limit,
            encoder_limit,
        )
        source_length = encoder_limit
    if decoder_limit is not None and target_length > decoder_limit:
        logger.info(
            "--max-target-length %d exceeds the decoder's %d positions; using %d",
            target_length,
            decoder_limit,
            decoder_limit,
        )
        target_length = decoder_limit
    return source_length, target_length


def generation_settings(ids: SpecialIds, config: TrainConfig) -> dict[str, Any]:
    """generation_config.json contents for a checkpoint whose model wrote none."""
    return {
        "decoder_start_token_id": ids.decoder_start,
        "eos_token_id": ids.eos,
        "pad_token_id": ids.pad,
        "num_beams": config.eval_num_beams,
        "max_new_tokens": config.eval_max_new_tokens,
    }
