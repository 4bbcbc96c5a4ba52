"""A tiny seq2seq module with the EncoderDecoderModel calling contract, for training tests.

Encoder: embeddings mean-pooled under the attention mask. Decoder: a GRU started from that pool.
It keeps padding out of the results exactly, which the accumulation and DDP tests rely on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

STAND_IN_CONFIG = "stand_in.json"


@dataclass
class StandInOutput:
    loss: torch.Tensor | None
    logits: torch.Tensor | None


def write_stand_in_pretrained(folder: Path, vocab_size: int, hidden: int = 16, max_positions: int = 64) -> None:
    """A 'pretrained' encoder or decoder folder: just the sizes (weights start from the seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {"vocab_size": vocab_size, "hidden": hidden, "max_position_embeddings": max_positions}
    (folder / STAND_IN_CONFIG).write_text(json.dumps(sizes))


class StandInSeq2Seq(torch.nn.Module):
    def __init__(self, vocab_size: int, hidden: int = 16, max_positions: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.config = SimpleNamespace(
            vocab_size=vocab_size,
            hidden=hidden,
            dropout=dropout,
            decoder_start_token_id=None,
            eos_token_id=None,
            pad_token_id=None,
            encoder=SimpleNamespace(max_position_embeddings=max_positions),
            decoder=SimpleNamespace(max_position_embeddings=max_positions),
        )
        # what the trainer reads of a real pair's encoder and decoder: how many tokens each takes, and the
        # cross-attention it starts from self-attention (an RNN has none)
        self.encoder = self.decoder = SimpleNamespace(spec=SimpleNamespace(usable_positions=max_positions),
                                                      stack=SimpleNamespace(layers=[]),
                                                      init_cross_attention_from_self=lambda: None)
        self.source_embeddings = torch.nn.Embedding(vocab_size, hidden)
        self.target_embeddings = torch.nn.Embedding(vocab_size, hidden)
        self.rnn = torch.nn.GRU(hidden, hidden, batch_first=True)
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(hidden, vocab_size)
        self.checkpointing = False

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.source_embeddings(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.tanh(pooled).unsqueeze(0)  # (1, batch, hidden)

    def decode(self, decoder_input_ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, state = self.rnn(self.dropout(self.target_embeddings(decoder_input_ids)), state)
        return self.head(self.dropout(outputs)), state

    def shift_right(self, labels: torch.Tensor) -> torch.Tensor:
        start = torch.full_like(labels[:, :1], self.config.decoder_start_token_id)
        shifted = torch.cat([start, labels[:, :-1]], dim=1)
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        loss_reduction: str = "mean",
        label_smoothing: float = 0.0,
        return_logits: bool = True,
    ) -> StandInOutput:
        logits, _ = self.decode(self.shift_right(labels), self.encode(input_ids, attention_mask))
        loss = F.cross_entropy(
            logits.flatten(0, 1),
            labels.flatten(),
            ignore_index=-100,
            reduction=loss_reduction,
            label_smoothing=label_smoothing,
        )
        return StandInOutput(loss, logits if return_logits else None)

    @torch.no_grad()
    def generate(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, num_beams: int = 1, max_new_tokens: int = 8
    ) -> torch.Tensor:
        state = self.encode(input_ids, attention_mask)
        tokens = torch.full((input_ids.shape[0], 1), self.config.decoder_start_token_id, dtype=torch.long)
        for _ in range(max_new_tokens):
            logits, state = self.decode(tokens[:, -1:], state)
            tokens = torch.cat([tokens, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return tokens

    def gradient_checkpointing_enable(self) -> None:
        self.checkpointing = True

    def save_pretrained(self, folder: str) -> None:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        config = {
            name: getattr(self.config, name)
            for name in ("vocab_size", "hidden", "dropout", "decoder_start_token_id", "eos_token_id", "pad_token_id")
        }
        config["max_position_embeddings"] = self.config.decoder.max_position_embeddings
        (path / "config.json").write_text(json.dumps(config))
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(path / "model.safetensors"))

    @classmethod
    def from_pretrained(cls, folder: str) -> StandInSeq2Seq:
        config = json.loads((Path(folder) / "config.json").read_text())
        model = cls(config["vocab_size"], config["hidden"], config["max_position_embeddings"], config["dropout"])
        for name in ("decoder_start_token_id", "eos_token_id", "pad_token_id"):
            setattr(model.config, name, config[name])
        model.load_state_dict(load_file(str(Path(folder) / "model.safetensors")))
        return model

    @classmethod
    def from_encoder_decoder_pretrained(
        cls, encoder: str, decoder: str, output_loading_info: bool = False, **options: object
    ) -> StandInSeq2Seq | tuple[StandInSeq2Seq, dict]:
        sizes = json.loads((Path(decoder) / STAND_IN_CONFIG).read_text())
        dropout = float(sizes.get("dropout", 0.0))
        model = cls(sizes["vocab_size"], sizes["hidden"], sizes["max_position_embeddings"], dropout)
        return (model, {"encoder": {}, "decoder": {}}) if output_loading_info else model
