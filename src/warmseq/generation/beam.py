"""Beam search with the peer's scoring, so that equal logits give equal hypotheses.

Per source, `beams` running hypotheses grow by one token a step. Each step keeps the best
K = max(2, 1 + n_eos) * beams continuations by summed log-probability: the best `beams` of those that did
not just end keep running, and those among the first `beams` that did end compete for the `beams` finished
slots with score sum_logprob / new_length ** length_penalty. The search stops when no running beam can beat
the finished ones (the heuristic depends on `early_stopping`), when every source has `beams` finished
hypotheses and early_stopping is True, or at max_length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from warmseq.generation.greedy import DecodeLimits, KeepRows, Step, check_finite
from warmseq.generation.logits import Transform, apply_transforms

Cache = Any
Reorder = Callable[[Cache, Tensor], Cache]
# A score low enough to rule a candidate out while keeping arithmetic finite (the peer's constant).
RULED_OUT = -1.0e9


@dataclass
class BeamState:
    running_tokens: Tensor  # (batch, beams, max_length) int64: hypotheses still growing, fill value past cur_len
    running_scores: Tensor  # (batch, beams) float32: summed log-probs; RULED_OUT for all but beam 0 at first
    finished_tokens: Tensor  # (batch, beams, max_length) int64: best finished hypotheses, best first
    finished_scores: Tensor  # (batch, beams) float32: length-penalised scores, RULED_OUT where a slot is empty
    finished_lengths: Tensor  # (batch, beams) int64: new tokens in each finished hypothesis
    is_finished: Tensor  # (batch, beams) bool: the slot holds a hypothesis that ended
    can_improve: Tensor  # (batch, 1) bool: running beams may still beat the worst finished hypothesis

    @classmethod
    def start(cls, prompt: Tensor, beams: int, max_length: int, fill_value: int) -> BeamState:
        """`prompt` (batch, prompt_length): every beam of a source starts from its prompt."""
        batch, prompt_length = prompt.shape
        running = prompt.new_full((batch, beams, max_length), fill_value)
        running[:, :, :prompt_length] = prompt[:, None, :]
        scores = torch.zeros((batch, beams), dtype=torch.float32, device=prompt.device)
        scores[:, 1:] = RULED_OUT  # identical beams: only beam 0 may expand at the first step
        return cls(
            running_tokens=running,
            running_scores=scores,
            finished_tokens=running.clone(),
            finished_scores=torch.full_like(scores, RULED_OUT),
            finished_lengths=torch.zeros((batch, beams), dtype=torch.long, device=prompt.device),
            is_finished=torch.zeros((batch, beams), dtype=torch.bool, device=prompt.device),
            can_improve=torch.ones((batch, 1), dtype=torch.bool, device=prompt.device),
        )


@dataclass
class BeamSettings:
    beams: int
    length_penalty: float
    early_stopping: bool | str
    do_sample: bool = False


def beam_search(
    step: Step,
    reorder: Reorder,
    cache: Cache,
    prompt: Tensor,
    limits: DecodeLimits,
    settings: BeamSettings,
    transforms: list[Transform],
    fill_value: int,
    *,
    generator: torch.Generator | None = None,
    scores_out: list[Tensor] | None = None,
    keep_rows: KeepRows | None = None,
) -> tuple[BeamState, int]:
    """Run the search for `prompt` (batch, prompt_length); `cache` holds batch * beams rows.

    Returns the final state and the number of new-token columns that the returned hypotheses may use. With
    `keep_rows` (not with sampling or kept scores), the sources whose finished hypotheses can no longer
    change (`frozen_sources`) leave the cache once they are a quarter of those it holds, and the steps left
    work on the others; the result is the same.
    """
    batch, prompt_length = prompt.shape
    beams = settings.beams
    state = BeamState.start(prompt, beams, limits.max_length, fill_value)
    everyone = state  # every source's finished hypotheses once sources leave the search
    held: Tensor | None = None  # the sources `state` holds (indices into `everyone`); None: all of them
    drops = keep_rows is not None and batch > 1 and not settings.do_sample and scores_out is None
    n_eos = 0 if limits.eos_ids is None else limits.eos_ids.numel()
    keep = max(2, 1 + n_eos) * beams
    source_offset = torch.arange(batch, device=prompt.device)[:, None] * beams  # (batch, 1)
    cur_len = prompt_length
    new_tokens = state.running_tokens[:, :, :cur_len].reshape(batch * beams, cur_len)
    while True:
        logits, cache = step(new_tokens, cache)
        logits = logits.float()
        check_finite(logits.amax(dim=-1), cur_len - prompt_length + 1)
        log_probs = torch.log_softmax(logits, dim=-1)
        history = state.running_tokens[:, :, :cur_len].reshape(batch * beams, cur_len)
        log_probs = apply_transforms(transforms, log_probs, history)
        if scores_out is not None:
            scores_out.append(log_probs)
        cand_scores, cand_beam, cand_token = pick_candidates(
            log_probs.view(batch, beams, -1), state.running_scores, keep, settings.do_sample, generator
        )
        cand_tokens = gather_rows(state.running_tokens, cand_beam)  # (batch, keep, max_length)
        cand_tokens[:, :, cur_len] = cand_token
        ends = cur_len + 1 >= limits.max_length
        hits = torch.full_like(cand_token, ends, dtype=torch.bool)
        if limits.eos_ids is not None:
            hits |= torch.isin(cand_token, limits.eos_ids)
        parent = keep_running(state, cand_tokens, cand_scores, cand_beam, hits, beams)
        keep_finished(state, cand_tokens, cand_scores, hits, cur_len + 1 - prompt_length, settings)
        cur_len += 1
        update_can_improve(state, cur_len - prompt_length, limits.max_length - prompt_length, settings)
        if not should_continue(state, hits, settings.early_stopping):
            break
        parents = parent + source_offset  # (batch, beams): rows of the cache
        frozen = frozen_sources(state, settings.early_stopping) if drops else None
        if frozen is not None and 4 * int(frozen.sum()) >= batch:
            kept = (~frozen).nonzero().flatten()  # (sources left,)
            everyone = set_aside(everyone, state, held)
            held = kept if held is None else held[kept]
            state = select_sources(state, kept)
            cache = keep_rows(cache, parents[kept].view(-1))  # reordered and dropped in one gather
            batch = kept.numel()
            source_offset = torch.arange(batch, device=prompt.device)[:, None] * beams
        else:
            cache = reorder(cache, parents.view(-1))
        new_tokens = state.running_tokens[:, :, cur_len - 1 : cur_len].reshape(batch * beams, 1)
    return (state if held is None else set_aside(everyone, state, held)), cur_len - prompt_length


def frozen_sources(state: BeamState, early_stopping: bool | str) -> Tensor:
    """(batch,) bool: sources whose finished hypotheses can no longer change. `keep_finished` rules out
    their candidates: no running beam can beat their finished ones (every slot full), or, with
    early_stopping=True, every slot is full."""
    frozen = ~state.can_improve[:, 0]
    if early_stopping is True:
        frozen |= state.is_finished.all(dim=-1)
    return frozen


def select_sources(state: BeamState, sources: Tensor) -> BeamState:
    """The state of `sources` (n,) int64 only, in that order."""
    return BeamState(**{f.name: getattr(state, f.name).index_select(0, sources) for f in fields(BeamState)})


def set_aside(everyone: BeamState, state: BeamState, held: Tensor | None) -> BeamState:
    """`everyone` with the finished hypotheses of the sources `state` holds (`held`; None: `state` holds all
    of them) written in: what the results are read from once sources leave the search."""
    if held is None:
        return state  # the first time: `state` itself, which the search then replaces by a selection
    for name in ("finished_tokens", "finished_scores", "finished_lengths", "is_finished"):
        getattr(everyone, name)[held] = getattr(state, name)
    return everyone


def pick_candidates(
    log_probs: Tensor, running_scores: Tensor, keep: int, do_sample: bool, generator: torch.Generator | None
) -> tuple[Tensor, Tensor, Tensor]:
    """The `keep` best (or sampled) continuations per source, best first, of `log_probs` (batch, beams,
    vocab) after `running_scores` (batch, beams): scores, beams and tokens, (batch, keep) each."""
    batch, beams, vocab = log_probs.shape
    if do_sample:
        total = (log_probs + running_scores[:, :, None]).view(batch, beams * vocab)
        index = torch.multinomial(torch.softmax(total, dim=-1), keep, generator=generator)
        scores, order = total.gather(1, index).sort(dim=-1, descending=True)
        index = index.gather(1, order)
        return scores, index // vocab, index % vocab
    # Two stages: the best `keep` of each beam hold the best `keep` of the source, so the second top-k
    # sorts beams * keep values instead of beams * vocab (beam 4: ~2x faster). Adding a beam's running
    # score keeps the order within the beam, so it is added to the `keep` survivors only.
    per_beam_keep = min(keep, vocab)
    per_beam, tokens = torch.topk(log_probs, per_beam_keep, dim=-1)  # (batch, beams, per_beam_keep)
    per_beam = (per_beam + running_scores[:, :, None]).view(batch, beams * per_beam_keep)
    scores, index = torch.topk(per_beam, keep, dim=-1)  # (batch, keep) into beams * per_beam_keep
    return scores, index // per_beam_keep, tokens.view(batch, -1).gather(1, index)


def gather_rows(tensor: Tensor, index: Tensor) -> Tensor:
    """tensor (batch, n, ...), index (batch, m) -> (batch, m, ...): row [b, j] is tensor[b, index[b, j]]."""
    while index.dim() < tensor.dim():
        index = index.unsqueeze(-1)
    return torch.take_along_dim(tensor, index, dim=1)


def keep_running(
    state: BeamState, cand_tokens: Tensor, cand_scores: Tensor, cand_beam: Tensor, hits: Tensor, beams: int
) -> Tensor:
    """Continue with the best `beams` candidates that did not end; returns their parents (batch, beams)."""
    open_scores = cand_scores + hits.to(torch.float32) * RULED_OUT
    chosen = torch.topk(open_scores, beams, dim=-1).indices
    state.running_tokens = gather_rows(cand_tokens, chosen)
    state.running_scores = gather_rows(open_scores, chosen)
    return gather_rows(cand_beam, chosen)


def keep_finished(
    state: BeamState,
    cand_tokens: Tensor,
    cand_scores: Tensor,
    hits: Tensor,
    new_length: int,
    settings: BeamSettings,
) -> None:
    """Merge the candidates that just ended into the finished slots, keeping the best `beams`."""
    beams = settings.beams
    # only the first `beams` candidates may finish; the rest exist so that enough beams keep running
    just_finished = hits.clone()
    just_finished[:, beams:] = False
    if not bool(just_finished.any()):
        # Nothing to merge: the merge would only move unfinished candidates, scored at or below RULED_OUT,
        # into empty slots, which nothing reads (`is_finished` stays False there; they tie with the empty
        # slots' RULED_OUT in `update_can_improve`). Most steps end nothing: ~15 small ops saved.
        return
    scores = cand_scores / (new_length**settings.length_penalty)
    all_full = state.is_finished.all(dim=-1, keepdim=True) & (settings.early_stopping is True)
    scores += all_full.to(torch.float32) * RULED_OUT
    scores += (~state.can_improve).to(torch.float32) * RULED_OUT
    scores += (~just_finished) * RULED_OUT
    merged_scores = torch.cat((state.finished_scores, scores), dim=1)
    chosen = torch.topk(merged_scores, beams, dim=-1).indices
    lengths = torch.full_like(cand_tokens[:, :, 0], new_length)
    state.finished_tokens = gather_rows(torch.cat((state.finished_tokens, cand_tokens), dim=1), chosen)
    state.finished_scores = gather_rows(merged_scores, chosen)
    state.finished_lengths = gather_rows(torch.cat((state.finished_lengths, lengths), dim=1), chosen)
    state.is_finished = gather_rows(torch.cat((state.is_finished, just_finished), dim=1), chosen)


def update_can_improve(state: BeamState, new_length: int, max_new_length: int, settings: BeamSettings) -> None:
    """Can the best running beam still beat the worst finished one? ("never": it may grow to the end)"""
    if settings.early_stopping == "never" and settings.length_penalty > 0.0:
        best_length = max_new_length
    else:
        best_length = new_length
    best_possible = state.running_scores[:, :1] / (best_length**settings.length_penalty)
    worst = torch.where(state.is_finished, state.finished_scores.min(dim=1, keepdim=True).values, RULED_OUT)
    state.can_improve &= (best_possible > worst).any(dim=-1, keepdim=True)


def should_continue(state: BeamState, hits: Tensor, early_stopping: bool | str) -> bool:
    if not bool(state.can_improve.any()):
        return False
    if early_stopping is True and bool(state.is_finished.all()):
        return False
    return not bool(hits.all())


def best_hypotheses(state: BeamState, count: int, prompt_length: int) -> tuple[Tensor, Tensor]:
    """The `count` best finished hypotheses per source: tokens (batch * count, length), scores."""
    lengths = state.finished_lengths[:, :count]
    length = prompt_length + int(lengths.max())
    tokens = state.finished_tokens[:, :count, :length]
    return tokens.reshape(-1, length), state.finished_scores[:, :count].reshape(-1)
