"""Weights one model holds under several names: an encoder and a decoder that share theirs.

`tie_encoder_decoder=True` (Rothe et al., 2020, "share" models such as roberta2roberta) makes the
encoder reuse the decoder's parameters wherever both have the same one: embeddings, self-attention,
feed-forward and their norms (the original's direction: a pair built from two different modules keeps the
decoder's values). Cross-attention and the LM head exist only in the decoder and stay its own.
The checkpoint still lists every weight under both names, as the original's files do.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

from warmseq.configs.encoder_decoder import EncoderDecoderConfig

logger = logging.getLogger("warmseq")


def share_encoder_decoder_weights(config: EncoderDecoderConfig, encoder: nn.Module, decoder: nn.Module) -> list[str]:
    """With `config.tie_encoder_decoder`, point the encoder's stack at the decoder's parameters.

    Returns the shared names (as in `encoder.stack`); the values are the decoder's, as in the original.
    Nothing happens when the flag is off. (Loading a checkpoint afterwards fills both from one copy.)"""
    if not getattr(config, "tie_encoder_decoder", False):
        return []
    decoder_params = dict(decoder.stack.named_parameters())
    shared = []
    for name, param in list(encoder.stack.named_parameters()):
        if name not in decoder_params:  # layers the decoder does not have
            continue
        source = decoder_params[name]
        if source.shape != param.shape:
            raise ValueError(
                f"tie_encoder_decoder=True, but {name} has shape {list(param.shape)} in the encoder "
                f"({type(encoder).__name__}) and {list(source.shape)} in the decoder ({type(decoder).__name__}); "
                "a shared encoder and decoder need the same sizes (set tie_encoder_decoder=False)"
            )
        owner_name, _, attribute = name.rpartition(".")
        setattr(encoder.stack.get_submodule(owner_name), attribute, source)
        shared.append(name)
    logger.info("tie_encoder_decoder: the encoder takes %d tensors of the decoder", len(shared))
    return shared


def tensor_aliases(model: nn.Module) -> dict[str, tuple[str, ...]]:
    """Each name of a parameter reachable under several names -> its other names."""
    names_by_tensor: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names_by_tensor.setdefault(id(param), []).append(name)
    return {name: tuple(n for n in names if n != name)
            for names in names_by_tensor.values() if len(names) > 1 for name in names}


def keep_first_copy(
    tensors: dict[str, Tensor], aliases: dict[str, tuple[str, ...]], source: str
) -> dict[str, Tensor]:
    """Loaded tensors with one copy per shared parameter: the first (the encoder's, in a pair).

    A checkpoint written by a model that did not share (its config said so, but its writer ignored
    it) has two different copies; say so, since one of them is dropped."""
    out: dict[str, Tensor] = {}
    differing = []
    for name, tensor in tensors.items():
        kept = next((a for a in aliases.get(name, ()) if a in out), None)
        if kept is None:
            out[name] = tensor
        elif not torch.equal(out[kept], tensor):
            differing.append(name)
    if differing:
        logger.warning(
            "%s: tie_encoder_decoder=True, but %d shared weights differ between the checkpoint's encoder and "
            "decoder copies (e.g. %s); the encoder's copy is used for both. Load with tie_encoder_decoder=False "
            "to keep them apart.", source, len(differing), differing[0],
        )
    return out
