"""Encoder-decoder pairs of the BERT-layout families, built by the peer, and its view of a shared pair."""

from __future__ import annotations

import torch
import transformers

from tests.families.peer_families import FAMILIES

START = 0  # a token id below the ones padded_batch draws; any id works as the decoder start


def peer_pair(encoder: str, decoder: str, tie_encoder_decoder: bool = False, **decoder_overrides):
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
        FAMILIES[encoder].peer_config(**FAMILIES[encoder].kwargs()),
        FAMILIES[decoder].peer_config(**FAMILIES[decoder].kwargs(**decoder_overrides)),
        tie_encoder_decoder=tie_encoder_decoder,
    )
    model = transformers.EncoderDecoderModel(config=config).eval()
    model.config.decoder_start_token_id = START
    model.config.pad_token_id = FAMILIES[decoder].pad
    if tie_encoder_decoder:
        copy_encoder_into_decoder(model)
    return model


def shared_names(peer) -> list[tuple[str, str]]:
    """(encoder name, decoder name) of every weight the encoder and the decoder's base model both have."""
    base_prefix = peer.decoder.base_model_prefix
    encoder = dict(peer.encoder.named_parameters())
    base = getattr(peer.decoder, base_prefix)
    return [(name, f"{base_prefix}.{name}") for name, _ in base.named_parameters(remove_duplicate=False)
            if name in encoder]


def copy_encoder_into_decoder(peer) -> None:
    """What a shared pair's checkpoint holds: the peer cannot share (its save refuses shared tensors),
    so it gets equal copies of the encoder's weights in the decoder."""
    encoder = dict(peer.encoder.named_parameters())
    decoder = dict(peer.decoder.named_parameters(remove_duplicate=False))
    with torch.no_grad():
        for enc_name, dec_name in shared_names(peer):
            decoder[dec_name].copy_(encoder[enc_name])


def share_like_original(peer) -> None:
    """Make the peer's decoder reuse the encoder's parameters, as Rothe et al.'s tie_encoder_decoder did:
    its `num_parameters()` is then the shared pair's parameter count."""
    encoder = dict(peer.encoder.named_parameters())
    for enc_name, dec_name in shared_names(peer):
        owner, _, attribute = dec_name.rpartition(".")
        setattr(peer.decoder.get_submodule(owner), attribute, encoder[enc_name])
    peer.tie_weights()  # the LM head follows the (now shared) word embeddings
