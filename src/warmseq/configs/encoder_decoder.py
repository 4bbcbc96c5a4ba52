"""The config of a warm-started pair: an encoder config, a decoder config and the pair's special ids."""

from __future__ import annotations

import copy
import logging
from typing import Any

from warmseq.configs.auto import config_from_dict
from warmseq.configs.base import PretrainedConfig

logger = logging.getLogger(__name__)


class EncoderDecoderConfig(PretrainedConfig):
    """`config.json` of an `EncoderDecoderModel`: `encoder` and `decoder` sub-configs plus shared fields."""

    model_type = "encoder-decoder"
    defaults: dict[str, Any] = {"is_encoder_decoder": True}

    def __init__(self, **fields: Any) -> None:
        encoder = fields.pop("encoder", None)
        decoder = fields.pop("decoder", None)
        if encoder is None or decoder is None:
            raise ValueError(
                "EncoderDecoderConfig needs both 'encoder' and 'decoder' sub-configs; "
                "use EncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)"
            )
        super().__init__(**fields)
        self.encoder = encoder if isinstance(encoder, PretrainedConfig) else config_from_dict(encoder, "encoder")
        self.decoder = decoder if isinstance(decoder, PretrainedConfig) else config_from_dict(decoder, "decoder")
        self.is_encoder_decoder = True

    @classmethod
    def from_encoder_decoder_configs(
        cls, encoder_config: PretrainedConfig, decoder_config: PretrainedConfig, **fields: Any
    ) -> EncoderDecoderConfig:
        """Pair two configs. The decoder's copy gets `is_decoder=True` and `add_cross_attention=True`;
        the objects passed in are not changed."""
        decoder = copy.deepcopy(decoder_config)
        if not (decoder.is_decoder and decoder.add_cross_attention):
            logger.info(
                "decoder config (%s) set to is_decoder=True, add_cross_attention=True in the pair's copy; "
                "its cross-attention weights start from random values",
                type(decoder).__name__,
            )
        decoder.is_decoder = True
        decoder.add_cross_attention = True
        return cls(encoder=copy.deepcopy(encoder_config), decoder=decoder, **fields)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["encoder"] = self.encoder.to_dict()
        out["decoder"] = self.decoder.to_dict()
        return out


def label_shift_ids(config: PretrainedConfig) -> tuple[int, int]:
    """The decoder start and pad ids that turn labels into decoder inputs (every framework's
    `prepare_decoder_input_ids_from_labels`), each named where it is unset."""
    start, pad = config.decoder_start_token_id, config.pad_token_id
    if start is None:
        raise ValueError(
            "labels were given but model.config.decoder_start_token_id is not set; set it to the token "
            "that starts every target (BERT decoders: the tokenizer's cls_token_id, e.g. 101)"
        )
    if pad is None:
        raise ValueError(
            "labels were given but model.config.pad_token_id is not set; set it to the tokenizer's "
            "pad_token_id (it replaces -100 in the decoder inputs and masks padding)"
        )
    return start, pad


def split_part_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`from_encoder_decoder_pretrained`'s keywords for each part, as the original API routes them:
    `encoder_x=` and `decoder_x=` become `x=` of that part, taken out of `kwargs`; what stays there is the
    pair's own (fields of its config)."""
    parts = []
    for prefix in ("encoder_", "decoder_"):
        parts.append({key[len(prefix):]: kwargs.pop(key) for key in list(kwargs) if key.startswith(prefix)})
    return parts[0], parts[1]
