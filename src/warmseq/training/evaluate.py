"""Score a saved checkpoint on a data file: predictions JSONL plus a scores JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warmseq.devices import default_device
from warmseq.json_files import GENERATION_CONFIG_NAME, read_json_if_present

from .baselines import baseline_outputs
from .bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, Interval, bootstrap_intervals
from .metrics import ROUGE_TYPES, rouge_per_example, sacrebleu_score
from .model_loading import load_checkpoint_tokenizers, load_trained_model, resolve_special_ids, usable_positions
from .records import read_text_pairs
from .state import TRAINER_STATE
from .tokenized import tokenize_sources
from .validation import generate_texts

DEFAULT_MAX_NEW_TOKENS = 64


@dataclass(frozen=True)
class EvalResult:
    """Scores (ROUGE-1/2/L in percent, BLEU if asked) and where the files went. `intervals` holds, per ROUGE
    type, the bootstrap interval of the model ("system") and, given a baseline, of the baseline on the same
    examples ("baseline") and of the paired difference ("difference")."""

    scores: dict[str, float]
    predictions_path: Path
    scores_path: Path
    count: int
    intervals: dict[str, dict[str, Interval]] = field(default_factory=dict)
    baseline: str | None = None


def saved_source_length(checkpoint: Path, model: Any) -> int:
    trained_with = read_json_if_present(checkpoint / TRAINER_STATE).get("config", {})
    limit = usable_positions(model, "encoder") or 512
    return min(int(trained_with.get("max_source_length", limit)), limit)


def evaluate(
    checkpoint_dir: str | Path,
    data_path: str | Path,
    source_field: str = "text",
    target_field: str = "summary",
    output_dir: str | Path | None = None,
    num_beams: int | None = None,
    max_new_tokens: int | None = None,
    batch_size: int = 16,
    max_examples: int | None = None,
    max_source_length: int | None = None,
    with_bleu: bool = False,
    device: str | None = None,
    generation: dict[str, Any] | None = None,
    baseline: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> EvalResult:
    """Generate for every source in `data_path` with the checkpoint's generation config (or the
    given overrides; `generation` holds further generate() keywords, e.g. no_repeat_ngram_size) and
    score against the targets.

    ROUGE comes with 95% bootstrap intervals (`resamples`, `seed`); `baseline="lead"` scores the lead
    sentence of each source on the same examples beside it. Writes `predictions-<data stem>.jsonl` (source,
    reference, prediction per line) and `scores-<data stem>.json` into `output_dir` (default: the checkpoint
    folder).
    """
    checkpoint = Path(checkpoint_dir)
    if not (checkpoint / "config.json").is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint}: config.json is missing; expected a saved model folder")
    torch_device = default_device(device)
    model = load_trained_model(checkpoint).to(torch_device)
    model.eval()
    source_tokenizer, target_tokenizer = load_checkpoint_tokenizers(checkpoint)
    saved = read_json_if_present(checkpoint / GENERATION_CONFIG_NAME)
    if num_beams is None:
        num_beams = int(saved.get("num_beams", 1))
    if max_new_tokens is None:
        max_new_tokens = int(saved.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS))
    texts = read_text_pairs(data_path, source_field, target_field)
    if max_examples is not None:
        texts = type(texts)(texts.path, texts.sources[:max_examples], texts.targets[:max_examples])
    source_length = max_source_length or saved_source_length(checkpoint, model)
    ids = resolve_special_ids(
        source_tokenizer,
        target_tokenizer,
        getattr(model.config, "decoder_start_token_id", None),
        getattr(model.config, "eos_token_id", None),
        getattr(model.config, "pad_token_id", None),
    )
    tokens = tokenize_sources(texts, source_tokenizer, source_length)
    indices = list(range(len(texts)))
    settings = {**(generation or {}), "num_beams": num_beams, "max_new_tokens": max_new_tokens}
    predictions = generate_texts(model, tokens, indices, target_tokenizer, batch_size, ids.source_pad, torch_device,
                                 settings)
    ordered = [predictions[i] for i in indices]
    per_example = rouge_per_example(ordered, texts.targets)
    baseline_scores = (
        rouge_per_example(baseline_outputs(baseline, texts.sources), texts.targets) if baseline is not None else None
    )
    intervals = bootstrap_intervals(per_example, baseline_scores, resamples=resamples, seed=seed)
    scores = {name: intervals[name]["system"].mean for name in ROUGE_TYPES}
    if with_bleu:
        scores["bleu"] = sacrebleu_score(ordered, texts.targets)
    summary = {"intervals": interval_summary(intervals, resamples, seed), "baseline": baseline}
    result = write_results(
        checkpoint,
        Path(output_dir) if output_dir else checkpoint,
        Path(data_path),
        texts.sources,
        texts.targets,
        ordered,
        scores,
        {**settings, **summary},
    )
    return EvalResult(result.scores, result.predictions_path, result.scores_path, result.count, intervals, baseline)


def interval_summary(intervals: dict[str, dict[str, Interval]], resamples: int, seed: int) -> dict[str, Any]:
    """The intervals as scores-*.json records them."""
    described = {name: {part: interval.to_json_dict() for part, interval in parts.items()}
                 for name, parts in intervals.items()}
    return {"confidence": DEFAULT_CONFIDENCE, "resamples": resamples, "seed": seed, **described}


def write_results(
    checkpoint: Path,
    output_dir: Path,
    data_path: Path,
    sources: list[str],
    references: list[str],
    predictions: list[str],
    scores: dict[str, float],
    generation: dict[str, Any],
) -> EvalResult:
    output_dir.mkdir(parents=True, exist_ok=True)
    predictions_path = output_dir / f"predictions-{data_path.stem}.jsonl"
    with predictions_path.open("w", encoding="utf-8") as handle:
        for source, reference, prediction in zip(sources, references, predictions, strict=True):
            line = {"source": source, "reference": reference, "prediction": prediction}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    scores_path = output_dir / f"scores-{data_path.stem}.json"
    summary = {
        **scores,
        "count": len(predictions),
        "checkpoint": str(checkpoint),
        "data": str(data_path),
        **generation,
    }
    scores_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return EvalResult(scores, predictions_path, scores_path, len(predictions))
