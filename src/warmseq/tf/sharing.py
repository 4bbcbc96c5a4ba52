"""`tie_encoder_decoder=True`: the decoder's stack reuses the encoder's weight-holding layers wherever both
have one at the same place (embeddings, self-attention, feed-forward, norms); cross-attention and the LM
head stay the decoder's own. The checkpoint still lists every weight under both names (see
warmseq.modeling.sharing)."""

from __future__ import annotations

import logging

import keras

from warmseq.configs.encoder_decoder import EncoderDecoderConfig
from warmseq.tf.layers import leaf_layers

logger = logging.getLogger("warmseq")


def share_encoder_decoder_weights(config: EncoderDecoderConfig, encoder: keras.Model, decoder: keras.Model
                                  ) -> list[str]:
    """With `config.tie_encoder_decoder`, point the decoder's stack at the encoder's layers; the shared paths."""
    if not getattr(config, "tie_encoder_decoder", False):
        return []
    encoder_layers = {path: layer_at(encoder.stack, path) for path, _, _ in leaf_layers(encoder.stack)}
    shared = []
    for path, parent, attribute in list(leaf_layers(decoder.stack)):
        if path not in encoder_layers:  # cross-attention, or layers the encoder does not have
            continue
        source, own = encoder_layers[path], layer_at(decoder.stack, path)
        for name, (variable, _) in own.torch_names().items():
            other = source.torch_names()[name][0]
            if tuple(other.shape) != tuple(variable.shape):
                raise ValueError(
                    f"tie_encoder_decoder=True, but {path}.{name} has shape {list(other.shape)} in the encoder "
                    f"({type(encoder).__name__}) and {list(variable.shape)} in the decoder "
                    f"({type(decoder).__name__}); a shared encoder and decoder need the same sizes "
                    "(set tie_encoder_decoder=False)"
                )
        set_layer_at(parent, attribute, source)
        shared.append(path)
    logger.info("tie_encoder_decoder: the decoder shares %d layers with the encoder", len(shared))
    return shared


def layer_at(root: keras.layers.Layer, path: str) -> keras.layers.Layer:
    layer = root
    for part in path.split("."):
        layer = layer[int(part)] if part.isdigit() else getattr(layer, part)
    return layer


def set_layer_at(parent: keras.layers.Layer, attribute: str, layer: keras.layers.Layer) -> None:
    """`attribute` is a name, or `name.i` for an item of a list of layers."""
    name, _, index = attribute.partition(".")
    if index:
        getattr(parent, name)[int(index)] = layer
    else:
        setattr(parent, name, layer)
