"""Serving: the encoder and a greedy or beam `generate` as a SavedModel with token-id signatures.

    export_saved_model(model, "served/", num_beams=4, max_new_tokens=64)
    served = tf.saved_model.load("served/")          # no warmseq needed from here on
    out = served.generate(input_ids=ids, attention_mask=mask)   # {"sequences", "lengths"}

Generation settings are fixed at export (they are the program's constants); batch and source length are
free. The signatures take int32 token ids (batch, length); TF Serving runs them as they are.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from warmseq.modeling.generate import resolve_generation_config
from warmseq.tf.generate import plan_for, search_program

if TYPE_CHECKING:
    from warmseq.tf.encoder_decoder import TFEncoderDecoderModel

TOKEN_IDS = tf.TensorSpec((None, None), tf.int32, name="input_ids")
MASK = tf.TensorSpec((None, None), tf.int32, name="attention_mask")


class ServedSeq2Seq(tf.Module):
    """What the SavedModel holds: the model's variables, `encode` and `generate` functions."""

    def __init__(self, model: TFEncoderDecoderModel, jit_compile: bool, **settings: Any) -> None:
        super().__init__(name="warmseq_seq2seq")
        self.model = model
        config = resolve_generation_config(model, None, settings)
        config.validate()
        if config.do_sample or config.num_return_sequences != 1:
            raise ValueError("export_saved_model exports greedy or beam search with one sequence per source; "
                             f"got do_sample={config.do_sample}, num_return_sequences={config.num_return_sequences}")
        if config.output_scores:
            raise ValueError("export_saved_model serves sequences and lengths; output_scores is not exported "
                             "(call generate(..., output_scores=True) on the model instead)")
        if config.decoder_start_token_id is None:
            raise ValueError("export_saved_model: set model.config.decoder_start_token_id before exporting")
        plan = plan_for(config, 1, model.decoder.spec.usable_positions)
        program = search_program(model, plan)
        start, beams = config.decoder_start_token_id, config.num_beams

        @tf.function(input_signature=[TOKEN_IDS, MASK])
        def encode(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"last_hidden_state": model.encoder(input_ids, attention_mask=attention_mask).last_hidden_state}

        @tf.function(input_signature=[TOKEN_IDS, MASK], jit_compile=jit_compile)
        def search(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            prompt = tf.fill((tf.shape(input_ids)[0], 1), start)
            seed = tf.zeros((2,), tf.int32)
            if beams > 1:
                tokens, _, lengths, _, _ = program(input_ids, attention_mask, prompt, seed)  # no scores kept
                return tokens[:, 0], 1 + lengths[:, 0]
            tokens, length, _ = program(input_ids, attention_mask, prompt, seed)
            ended = tf.reduce_any(tokens[:, None, :] == tf.constant(list(plan.eos_ids) or [-1])[None, :, None], 1)
            ended &= tf.range(tf.shape(tokens)[1]) >= 1  # the start token may be an end token (GPT-2)
            first_end = tf.where(tf.reduce_any(ended, -1), tf.argmax(tf.cast(ended, tf.int32), -1,
                                                                          output_type=tf.int32) + 1, length)
            return tokens, first_end

        @tf.function(input_signature=[TOKEN_IDS, MASK])
        def generate(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> dict[str, tf.Tensor]:
            """sequences (batch, length) int32, start token included, pad after each row's end; lengths (batch,)."""
            tokens, lengths = search(input_ids, attention_mask)
            return {"sequences": tokens[:, : tf.reduce_max(lengths)], "lengths": lengths}

        self.encode, self.generate = encode, generate


def export_saved_model(model: TFEncoderDecoderModel, export_dir: str | os.PathLike, *, jit_compile: bool = False,
                       **generation_settings: Any) -> None:
    """Write a SavedModel with `encode` and `generate` signatures (token ids in, token ids out).

    `generation_settings` are GenerationConfig fields (num_beams, max_new_tokens, no_repeat_ngram_size, ...),
    resolved as `generate` resolves them. `jit_compile=True` marks the search for XLA (compiled per shape
    when the SavedModel runs)."""
    served = ServedSeq2Seq(model, jit_compile, **generation_settings)
    tf.saved_model.save(served, os.fspath(export_dir),
                        signatures={"serving_default": served.generate, "encode": served.encode})
