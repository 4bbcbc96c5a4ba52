"""Same tokens as the peer, up to fp32 ties: where a row parts from the peer, how close were the peer's two
best logits there? (Two libraries that sum in different orders may pick differently between near-equal
logits; the issue's bar is a gap within 1e-4.)"""

from __future__ import annotations

import torch

TIE = 1e-4


def compare_tokens(peer, ours, ids: torch.Tensor, kwargs: dict) -> str:
    """'True', or how many rows parted and the largest top-2 gap of the peer's logits where they did."""
    mask = torch.ones_like(ids)
    with torch.no_grad():
        expected = peer.generate(input_ids=ids, attention_mask=mask, output_scores=True,
                                 return_dict_in_generate=True, **kwargs)
    got = ours.generate(ids, attention_mask=mask, **kwargs)
    sequences = expected.sequences
    if got.shape == sequences.shape and torch.equal(got, sequences):
        return "True"
    if got.shape != sequences.shape:
        return f"False (shapes {tuple(got.shape)} vs {tuple(sequences.shape)})"
    differs = (got != sequences).any(dim=1).nonzero().flatten().tolist()
    if kwargs.get("num_beams", 1) > 1:
        return f"{len(differs)}/{got.shape[0]} rows differ (beam: gaps not checked)"
    gaps = []
    for row in differs:
        position = int((got[row] != sequences[row]).nonzero()[0])
        scores = expected.scores[position - 1][row].float()  # the step that chose that position
        top2 = scores.topk(2).values
        gaps.append(float(top2[0] - top2[1]))
    verdict = "ties" if max(gaps) <= TIE else "NOT ties"
    return f"{len(differs)}/{got.shape[0]} rows differ, peer's top-2 gap there <= {max(gaps):.1e} ({verdict})"
