"""PNG plots of the loss and ROUGE curves recorded in metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from .metrics import ROUGE_TYPES


def read_metrics(metrics_path: Path) -> list[dict]:
    records = []
    with metrics_path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{metrics_path}, line {line_number}: not valid JSON ({error.msg})") from error
    return records


def plot_metrics(metrics_path: str | Path) -> list[Path]:
    """Write loss.png (training and validation loss) and, when validated, rouge.png next to the file."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    metrics_path = Path(metrics_path)
    records = read_metrics(metrics_path)
    train = [r for r in records if r.get("kind") == "train"]
    validation = [r for r in records if r.get("kind") == "validation"]
    written = []

    figure, axes = pyplot.subplots(figsize=(7, 4))
    axes.plot([r["step"] for r in train], [r["loss"] for r in train], label="training loss")
    with_loss = [r for r in validation if "loss" in r]
    if with_loss:
        axes.plot([r["step"] for r in with_loss], [r["loss"] for r in with_loss], "o-", label="validation loss")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss per target token")
    axes.legend()
    figure.tight_layout()
    loss_path = metrics_path.parent / "loss.png"
    figure.savefig(loss_path, dpi=100)
    pyplot.close(figure)
    written.append(loss_path)

    with_rouge = [r for r in validation if "rougeL" in r]
    if with_rouge:
        figure, axes = pyplot.subplots(figsize=(7, 4))
        for name in ROUGE_TYPES:
            axes.plot([r["step"] for r in with_rouge], [r[name] for r in with_rouge], "o-", label=name)
        axes.set_xlabel("optimizer step")
        axes.set_ylabel("F1 (%)")
        axes.legend()
        figure.tight_layout()
        rouge_path = metrics_path.parent / "rouge.png"
        figure.savefig(rouge_path, dpi=100)
        pyplot.close(figure)
        written.append(rouge_path)
    return written
