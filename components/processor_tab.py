"""Processor tab: AutoProcessor (tokenizer + feature extractor together). Planned."""

from __future__ import annotations

from .common import planned

CSS = ""


def build() -> None:
    """Layout of the Processor tab."""
    planned(
        "AutoProcessor — planned",
        "Multimodal models need two preprocessors at once. This tab will load `AutoProcessor` for a "
        "checkpoint (LayoutLMv2 with Tesseract OCR, Whisper, Wav2Vec2, CLIP), show which tokenizer and "
        "which feature extractor it combines and why, run both on your document, audio or image plus "
        "text, and show the OCR words and boxes next to the tokens they become. Until then, use the "
        "Tokenizer and Feature Extractor tabs on the same checkpoint.",
    )
