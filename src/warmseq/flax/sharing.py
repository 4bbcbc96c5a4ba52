"""`tie_encoder_decoder=True` in the Flax port: the decoder's stack holds the encoder's very variables
wherever both have the same one (embeddings, self-attention, feed-forward, norms); twin of modeling/sharing.py.
A shared variable appears once in `params`, so its gradient sums both uses."""

from __future__ import annotations

import logging

from flax import nnx

from warmseq.configs.encoder_decoder import EncoderDecoderConfig
from warmseq.flax.causal_lm import FlaxCausalLM
from warmseq.flax.encoder import FlaxEncoderModel

logger = logging.getLogger("warmseq")


def share_encoder_decoder_weights(config: EncoderDecoderConfig, encoder: FlaxEncoderModel,
                                  decoder: FlaxCausalLM) -> list[tuple]:
    """With `config.tie_encoder_decoder`, point the decoder's stack at the encoder's variables; returns the
    shared paths (inside the stacks). Nothing happens when the flag is off."""
    if not getattr(config, "tie_encoder_decoder", False):
        return []
    encoder_vars = {path: node for path, node in nnx.iter_graph(encoder.stack) if isinstance(node, nnx.Variable)}
    shared = []
    for path, node in list(nnx.iter_graph(decoder.stack)):
        source = encoder_vars.get(path)
        if not isinstance(node, nnx.Variable) or source is None:  # cross-attention, layers only the decoder has
            continue
        name = ".".join(map(str, path))
        if source.value.shape != node.value.shape:
            raise ValueError(
                f"tie_encoder_decoder=True, but {name} has shape {list(source.value.shape)} in the encoder "
                f"({type(encoder).__name__}) and {list(node.value.shape)} in the decoder ({type(decoder).__name__}); "
                "a shared encoder and decoder need the same sizes (set tie_encoder_decoder=False)"
            )
        owner = decoder.stack
        for part in path[:-1]:
            owner = owner[part] if isinstance(part, int) else getattr(owner, part)
        setattr(owner, path[-1], source)
        shared.append(path)
    logger.info("tie_encoder_decoder: the decoder shares %d variables with the encoder", len(shared))
    return shared
