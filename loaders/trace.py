"""The resolution trace: every decision an Auto* call makes, as data the UI can show.

A step reads like `tokenizer_config.json: tokenizer_class = "BertTokenizer" → WordPiece from
tokenizer.json`: where the fact came from, which key, its value, and what we decided.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

LEVELS = ("info", "warn")


@dataclass(frozen=True)
class Step:
    source: str  # a file name ("config.json"), "hub", "call" (the caller's arguments), "registry"
    decision: str  # what we concluded, in plain words
    key: str | None = None
    value: Any = None
    level: str = "info"  # "warn" for things a user should notice (ignored settings, fallbacks)

    def __str__(self) -> str:
        fact = self.source
        if self.key is not None:
            fact += f": {self.key} = {_show(self.value)}"
        mark = "⚠ " if self.level == "warn" else ""
        return f"{mark}{fact} → {self.decision}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class Trace:
    """An ordered list of steps, titled by the call that made them (e.g. `AutoTokenizer`)."""

    title: str
    steps: list[Step] = field(default_factory=list)

    def add(self, source: str, decision: str, key: str | None = None, value: Any = None) -> Step:
        """Record one informational decision and return it."""
        step = Step(source, decision, key, value, "info")
        self.steps.append(step)
        return step

    def warn(self, source: str, decision: str, key: str | None = None, value: Any = None) -> Step:
        """Record a decision the user should notice (an ignored setting, a fallback)."""
        step = Step(source, decision, key, value, "warn")
        self.steps.append(step)
        return step

    def extend(self, other: Trace) -> None:
        """Append another trace's steps (e.g. a processor's tokenizer and feature extractor)."""
        self.steps.extend(other.steps)

    @property
    def warnings(self) -> list[Step]:
        return [s for s in self.steps if s.level == "warn"]

    def to_list(self) -> list[dict]:
        """JSON-ready: one dict per step (value converted to a JSON-friendly form)."""
        out = []
        for s in self.steps:
            d = asdict(s)
            try:
                json.dumps(d["value"])
            except TypeError:
                d["value"] = repr(d["value"])
            out.append(d)
        return out

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        lines = [f"{self.title}:"] + [f"  {i + 1}. {s}" for i, s in enumerate(self.steps)]
        return "\n".join(lines)
