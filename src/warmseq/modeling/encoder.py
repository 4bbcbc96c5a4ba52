"""Encoders: a transformer stack that reads a whole source sequence at once."""

from __future__ import annotations

from torch import Tensor

from warmseq.checkpoints.keymap import KeyMap
from warmseq.configs.base import PretrainedConfig
from warmseq.configs.field_support import check_fields
from warmseq.families import family_for
from warmseq.modeling.inputs import check_token_ids
from warmseq.modeling.outputs import BaseModelOutput, as_tuple
from warmseq.modeling.pretrained import PreTrainedModel
from warmseq.modeling.stack import TransformerStack


class EncoderModel(PreTrainedModel):
    """Base of the encoder families; a family adds its config class (its key map is the record's)."""

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        check_fields(config, type(self).__name__)
        self.spec = config.to_spec()
        if config.is_decoder or self.spec.has_cross_attention:  # GPT-2 is causal yet may encode
            raise ValueError(
                f"{type(self).__name__} is an encoder, but its config has is_decoder={config.is_decoder}, "
                f"add_cross_attention={config.add_cross_attention}; use the family's causal-LM class as a decoder"
            )
        self.stack = TransformerStack(self.spec)
        self.init_weights()

    @property
    def hidden_size(self) -> int:
        return self.spec.hidden_size

    def key_map(self) -> KeyMap:
        return family_for(self.config.model_type, type(self).__name__).encoder_key_map(self.spec)

    def get_input_embeddings(self):
        return self.stack.embeddings.tokens

    def get_output_embeddings(self) -> None:
        return None

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool = True,
        **unused: object,
    ) -> BaseModelOutput:
        """Hidden states of the source; `output_*` default to the config's fields of those names."""
        check_token_ids(input_ids, "input_ids", self.spec.vocab_size, self.spec.usable_positions)
        record = self.record_for(output_attentions, output_hidden_states)
        hidden = self.stack(input_ids, attention_mask, token_type_ids, record=record)
        if record is None:
            return BaseModelOutput(last_hidden_state=hidden)
        return BaseModelOutput(last_hidden_state=hidden, hidden_states=as_tuple(record.hidden_states),
                               attentions=as_tuple(record.attentions))
