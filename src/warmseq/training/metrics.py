"""Text-generation scores: ROUGE (rouge-score, with stemming) and sacreBLEU."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@dataclass(frozen=True)
class RougeSums:
    """Sums of per-example ROUGE F1 scores, so ranks can add theirs before taking the mean."""

    rouge1: float = 0.0
    rouge2: float = 0.0
    rougeL: float = 0.0  # spelled as rouge-score spells it
    count: int = 0

    def as_list(self) -> list[float]:
        return [self.rouge1, self.rouge2, self.rougeL, float(self.count)]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> RougeSums:
        return cls(values[0], values[1], values[2], int(values[3]))

    def means(self) -> dict[str, float]:
        """Mean F1 of each ROUGE type, as percentages."""
        if self.count == 0:
            return dict.fromkeys(ROUGE_TYPES, 0.0)
        return {name: 100.0 * getattr(self, name) / self.count for name in ROUGE_TYPES}


def rouge_per_example(predictions: Sequence[str], references: Sequence[str]) -> dict[str, list[float]]:
    """ROUGE-1/2/L F1 of each prediction against its reference, as percentages (Porter stemming on, as
    rouge-score's reference setup)."""
    if len(predictions) != len(references):
        raise ValueError(f"rouge: {len(predictions)} predictions but {len(references)} references")
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    columns: dict[str, list[float]] = {name: [] for name in ROUGE_TYPES}
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(reference, prediction)
        for name in ROUGE_TYPES:
            columns[name].append(100.0 * scores[name].fmeasure)
    return columns


def rouge_sums(predictions: Sequence[str], references: Sequence[str]) -> RougeSums:
    """Sum of ROUGE-1/2/L F1 (fractions) over example pairs."""
    columns = rouge_per_example(predictions, references)
    totals = {name: sum(columns[name]) / 100.0 for name in ROUGE_TYPES}
    return RougeSums(totals["rouge1"], totals["rouge2"], totals["rougeL"], len(predictions))


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 (percent) of predictions against one reference each."""
    return rouge_sums(predictions, references).means()


def sacrebleu_score(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacreBLEU defaults, 13a tokenisation) for translation-like data."""
    if len(predictions) != len(references):
        raise ValueError(f"bleu: {len(predictions)} predictions but {len(references)} references")
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)
