"""tokenizer tab (being written)."""

from __future__ import annotations

from .common import planned

CSS = ""


def build() -> None:
    """Layout of the tab."""
    planned("tokenizer", "Being written.")
