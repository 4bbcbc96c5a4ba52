"""metrics.jsonl: one JSON object per logged event, appended and flushed as it happens."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def json_safe(value: Any) -> Any:
    """NaN and infinities become strings, since JSON has no literal for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


class MetricsLog:
    """Appends records to `path`; does nothing when `is_writer` is false (ranks other than 0)."""

    def __init__(self, path: Path, is_writer: bool) -> None:
        self.path = path
        self.is_writer = is_writer

    def append(self, record: dict[str, Any]) -> None:
        if not self.is_writer:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(json_safe(record)) + "\n")

    def drop_after(self, step: int) -> None:
        """Forget records past `step`: a resumed run repeats the steps after its checkpoint."""
        if not self.is_writer or not self.path.is_file():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line).get("step", 0) <= step:
                kept.append(line)
        self.path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
