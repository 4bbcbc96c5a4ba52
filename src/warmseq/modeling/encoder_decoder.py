"""A pretrained encoder joined to a pretrained decoder through cross-attention."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from warmseq.checkpoints.keymap import KeyMap, rename
from warmseq.configs.auto import AutoConfig
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.encoder_decoder import EncoderDecoderConfig, label_shift_ids, split_part_kwargs
from warmseq.modeling.auto import (
    AutoModel,
    AutoModelForCausalLM,
    decoder_class_for,
    encoder_class_for,
    family_class_name,
)
from warmseq.modeling.causal_lm import CausalLM
from warmseq.modeling.encoder import EncoderModel
from warmseq.modeling.generate import (
    generate,
    load_generation_config,
    save_generation_config,
    stream,
)
from warmseq.modeling.inputs import check_labels, check_token_ids
from warmseq.modeling.linear import Linear
from warmseq.modeling.outputs import BaseModelOutput, Seq2SeqLMOutput, as_tuple
from warmseq.modeling.pretrained import PreTrainedModel, set_attn_implementation
from warmseq.modeling.sharing import share_encoder_decoder_weights

logger = logging.getLogger("warmseq")


def shift_tokens_right(labels: Tensor, pad_token_id: int, decoder_start_token_id: int) -> Tensor:
    """Decoder inputs for teacher forcing: start token, then the labels shifted by one, -100 -> pad."""
    shifted = labels.new_empty(labels.shape)
    shifted[:, 0] = decoder_start_token_id
    shifted[:, 1:] = labels[:, :-1]
    return shifted.masked_fill_(shifted == -100, pad_token_id)


class EncoderDecoderModel(PreTrainedModel):
    """An encoder (`encoder`), a decoder with cross-attention (`decoder`) and, when their hidden
    sizes differ, a linear map between them (`enc_to_dec_proj`)."""

    config_class = EncoderDecoderConfig

    def __init__(
        self,
        config: EncoderDecoderConfig | None = None,
        encoder: EncoderModel | None = None,
        decoder: CausalLM | None = None,
        *,
        attn_implementation: str | None = None,
    ) -> None:
        """`attn_implementation`: "sdpa" (torch's fused kernel, the default) or "eager" for both parts, kept in
        `config._attn_implementation` and the parts' configs, as the original keeps it."""
        if config is None:
            if encoder is None or decoder is None:
                raise ValueError("EncoderDecoderModel needs a config, or both an encoder and a decoder")
            config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config)
        if not isinstance(config, EncoderDecoderConfig):
            raise TypeError(f"config must be an EncoderDecoderConfig, got {type(config).__name__}")
        super().__init__(config)
        encoder = encoder if encoder is not None else AutoModel.from_config(config.encoder)
        decoder = decoder if decoder is not None else AutoModelForCausalLM.from_config(config.decoder)
        check_pair(encoder, decoder)
        self.encoder, self.decoder = encoder, decoder
        # the parts read the pair's config, so one edit reaches both
        encoder.config, decoder.config = config.encoder, config.decoder
        set_attn_implementation(config, attn_implementation)
        share_encoder_decoder_weights(config, encoder, decoder)  # tie_encoder_decoder=True: one set of weights
        self.enc_to_dec_proj = None
        if encoder.hidden_size != decoder.hidden_size:
            self.enc_to_dec_proj = Linear(encoder.hidden_size, decoder.hidden_size)
            nn.init.normal_(self.enc_to_dec_proj.weight, std=getattr(config.decoder, "initializer_range", 0.02))
            nn.init.zeros_(self.enc_to_dec_proj.bias)
        self.generation_config = None  # set from generation_config.json by from_pretrained
        self.train(encoder.training and decoder.training)

    # ---- checkpoint layout ------------------------------------------------------------------
    def key_map(self) -> KeyMap:
        key_map = self.encoder.key_map().prefixed("encoder.", "encoder.")
        key_map = key_map + self.decoder.key_map().prefixed("decoder.", "decoder.")
        if self.enc_to_dec_proj is not None:
            proj = (rename("enc_to_dec_proj.weight", "enc_to_dec_proj.weight"),
                    rename("enc_to_dec_proj.bias", "enc_to_dec_proj.bias"))
            key_map = key_map + KeyMap(proj)
        return key_map

    def get_encoder(self) -> EncoderModel:
        return self.encoder

    def get_decoder(self) -> CausalLM:
        return self.decoder

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.get_input_embeddings()

    def get_output_embeddings(self) -> Tensor:
        return self.decoder.get_output_embeddings()

    def gradient_checkpointing_enable(self, **_ignored: Any) -> None:
        self.encoder.stack.gradient_checkpointing = self.decoder.stack.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        self.encoder.stack.gradient_checkpointing = self.decoder.stack.gradient_checkpointing = False

    # ---- forward -----------------------------------------------------------------------------
    def encode(self, input_ids: Tensor, attention_mask: Tensor | None = None, **encoder_kwargs: Any) -> Tensor:
        """Encoder states as the decoder's cross-attention reads them (projected if sizes differ)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **encoder_kwargs)
        return self.project_memory(hidden.last_hidden_state)

    def project_memory(self, hidden: Tensor) -> Tensor:
        return self.enc_to_dec_proj(hidden) if self.enc_to_dec_proj is not None else hidden

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        decoder_input_ids: Tensor | None = None,
        decoder_attention_mask: Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        labels: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        loss_reduction: str = "mean",
        label_smoothing: float = 0.0,
        return_logits: bool = True,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool = True,
        **unused: Any,
    ) -> Seq2SeqLMOutput:
        """Logits of the decoder and, with `labels`, the cross-entropy over tokens whose label is not -100.

        `decoder_input_ids` default to the labels shifted right after `config.decoder_start_token_id`.
        `loss_reduction="sum"` returns the summed loss (for normalising over accumulated batches);
        `return_logits=False` skips the full logits and projects only the positions that count.
        `output_attentions` / `output_hidden_states` default to the encoder's and the decoder's own config
        fields of those names (the pair's config is not read, as in the original)."""
        reject_unknown_arguments(unused)
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("pass input_ids (the source tokens) or encoder_outputs")
            encoder_outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                           token_type_ids=token_type_ids, output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states)
        elif isinstance(encoder_outputs, tuple | list):
            encoder_outputs = BaseModelOutput(last_hidden_state=encoder_outputs[0])
        memory = self.project_memory(encoder_outputs.last_hidden_state)
        if labels is not None:
            check_labels(labels, self.decoder.spec.vocab_size)
            if decoder_input_ids is None:
                decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
                if decoder_attention_mask is None:
                    decoder_attention_mask = (decoder_input_ids != self.config.pad_token_id).long()
        if decoder_input_ids is None:
            raise ValueError("pass labels or decoder_input_ids: the decoder needs its input tokens")
        decoder = self.decoder
        check_token_ids(decoder_input_ids, "decoder_input_ids", decoder.spec.vocab_size,
                        decoder.spec.usable_positions)
        record = decoder.record_for(output_attentions, output_hidden_states)
        hidden = decoder.stack(decoder_input_ids, decoder_attention_mask, None, memory, attention_mask, record)
        logits = decoder.logits(hidden) if return_logits or labels is None else None
        loss = count = None
        if labels is not None:
            loss, count = self.target_loss(hidden, logits, labels, loss_reduction, label_smoothing)
        output = Seq2SeqLMOutput(loss=loss, logits=logits, encoder_last_hidden_state=encoder_outputs.last_hidden_state,
                                 encoder_hidden_states=getattr(encoder_outputs, "hidden_states", None),
                                 encoder_attentions=getattr(encoder_outputs, "attentions", None),
                                 num_target_tokens=count)
        if record is not None:
            output.decoder_hidden_states = as_tuple(record.hidden_states)
            output.decoder_attentions = as_tuple(record.attentions)
            output.cross_attentions = as_tuple(record.cross_attentions)
        return output

    def target_loss(
        self, hidden: Tensor, logits: Tensor | None, labels: Tensor, reduction: str, label_smoothing: float
    ) -> tuple[Tensor, Tensor]:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"loss_reduction must be 'mean' or 'sum', got {reduction!r}")
        counts = labels != -100
        if logits is None:  # project only the positions that count: the LM head is the widest layer
            logits, labels = self.decoder.logits(hidden[counts]), labels[counts]
        loss = F.cross_entropy(logits.flatten(0, -2), labels.flatten(), ignore_index=-100,
                               reduction=reduction, label_smoothing=label_smoothing)
        return loss, counts.sum()

    def prepare_decoder_input_ids_from_labels(self, labels: Tensor) -> Tensor:
        start, pad = label_shift_ids(self.config)
        return shift_tokens_right(labels, pad, start)

    # ---- generation ------------------------------------------------------------------------------
    def generate(self, input_ids: Tensor | None = None, attention_mask: Tensor | None = None, **kwargs: Any) -> Any:
        """Token ids (batch * num_return_sequences, length) for each source, start token included.

        Greedy search, beam search (`num_beams`) or sampling (`do_sample=True`); keywords are
        `GenerationConfig` fields, `generation_config=`, `decoder_input_ids=` or `generator=` (seeded sampling).
        With `return_dict_in_generate=True` returns an object with `sequences`, `scores`, `sequences_scores`."""
        input_ids = kwargs.pop("inputs", input_ids)
        if input_ids is None:
            raise ValueError("generate() needs input_ids: the source token ids, shape (batch, length)")
        return generate(self, input_ids, attention_mask, **kwargs)

    def stream(self, input_ids: Tensor, attention_mask: Tensor | None = None, **kwargs: Any):
        """Yield the new token ids of one source's output one by one (greedy or sampling)."""
        return stream(self, input_ids, attention_mask, **kwargs)

    def save_extra_files(self, folder: Path) -> None:
        save_generation_config(self, folder)

    def after_load(self, name_or_path: str | os.PathLike) -> None:
        load_generation_config(self, name_or_path)

    # ---- building from pretrained parts ------------------------------------------------------
    @classmethod
    def from_encoder_decoder_pretrained(
        cls,
        encoder_pretrained_model_name_or_path: str | os.PathLike | None = None,
        decoder_pretrained_model_name_or_path: str | os.PathLike | None = None,
        output_loading_info: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Warm-start a pair from an encoder checkpoint and a decoder checkpoint (folders or Hub ids).

        Keywords starting with `encoder_` / `decoder_` go to that part (`encoder_model=`, `decoder_config=`,
        or config fields such as `decoder_max_position_embeddings=`); the rest set fields of the pair's config.
        `attn_implementation` ("sdpa" or "eager") applies to both parts unless a part is given its own."""
        attn_implementation = kwargs.pop("attn_implementation", None)
        encoder_kwargs, decoder_kwargs = split_part_kwargs(kwargs)
        for part in (encoder_kwargs, decoder_kwargs):
            part.setdefault("attn_implementation", attn_implementation)
        encoder, encoder_report = load_part(encoder_pretrained_model_name_or_path, encoder_kwargs, "encoder")
        decoder, decoder_report = load_part(decoder_pretrained_model_name_or_path, decoder_kwargs, "decoder")
        config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config, **kwargs)
        if attn_implementation is not None:  # the pair's own entry; each part has its own already
            config._attn_implementation = attn_implementation
        model = cls(config=config, encoder=encoder, decoder=decoder)
        model.eval()
        if output_loading_info:
            return model, {"encoder": encoder_report, "decoder": decoder_report}
        return model


def load_part(name_or_path: str | os.PathLike | None, kwargs: dict[str, Any], role: str) -> tuple[Any, dict]:
    """Load the encoder or decoder of a pair, configured for its role."""
    model = kwargs.pop("model", None)
    attn_implementation = kwargs.pop("attn_implementation", None)
    if model is not None:
        set_attn_implementation(model.config, attn_implementation)
        return model, {}
    if name_or_path is None:
        raise ValueError(f"pass {role}_pretrained_model_name_or_path or {role}_model=")
    config: PretrainedConfig = kwargs.pop("config", None) or AutoConfig.from_pretrained(name_or_path)
    config.update(kwargs)
    wanted = role == "decoder"
    if config.is_decoder != wanted or config.add_cross_attention != wanted:
        logger.info("%s config of %s: setting is_decoder=%s, add_cross_attention=%s", role,
                    os.fspath(name_or_path), wanted, wanted)
        config.is_decoder = config.add_cross_attention = wanted
    model_class = decoder_class_for(config) if wanted else encoder_class_for(config)
    return model_class.from_pretrained(name_or_path, config=config, output_loading_info=True,
                                       attn_implementation=attn_implementation)


def check_pair(encoder: nn.Module, decoder: nn.Module) -> None:
    if isinstance(encoder, CausalLM) or not isinstance(encoder, EncoderModel):
        raise ValueError(
            f"the encoder is a {type(encoder).__name__}"
            f"{', which has an LM head' if isinstance(encoder, CausalLM) else ''}; expected a warmseq encoder "
            f"without an LM head (e.g. {family_class_name(encoder, 'encoder', 'BertModel')})"
        )
    if not isinstance(decoder, CausalLM):
        raise ValueError(
            f"the decoder is a {type(decoder).__name__}, which has no LM head; expected a warmseq causal LM "
            f"(e.g. {family_class_name(decoder, 'decoder', 'BertLMHeadModel')})"
        )
    if not decoder.has_cross_attention:
        raise ValueError(
            f"the decoder {type(decoder).__name__} has no cross-attention: build it with a config that has "
            "is_decoder=True and add_cross_attention=True (from_encoder_decoder_pretrained does this)"
        )


def reject_unknown_arguments(unused: dict[str, Any]) -> None:
    import difflib

    known = ["input_ids", "attention_mask", "decoder_input_ids", "decoder_attention_mask", "encoder_outputs",
             "labels", "token_type_ids", "loss_reduction", "label_smoothing", "return_logits", "return_dict",
             "output_attentions", "output_hidden_states"]
    tolerated = {"use_cache", "num_items_in_batch"}
    for name in unused:
        if name not in tolerated:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"EncoderDecoderModel.forward got an unexpected argument {name!r}{hint}")
