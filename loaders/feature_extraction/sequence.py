"""What the audio extractors share: the sampling-rate check, turning one waveform or a batch into a list
of float32 arrays, and transformers' padding / truncation rules (SequenceFeatureExtractor.pad).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FeatureExtractionError
from .base import Preprocessor, stats

PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


@dataclass
class Padded:
    """A padded batch: `values` (B, T) when every row has one length, else a list; `mask` alike or None."""

    values: Any
    mask: Any
    lengths: list[int]  # samples of real signal in each row, after truncation
    truncated: list[int]  # samples cut from each row


class SequenceFeatureExtractor(Preprocessor):
    """Base of the audio extractors (config has sampling_rate, padding_value, padding_side, feature_size)."""

    def check_sampling_rate(self, sampling_rate: int | None) -> None:
        """A rate other than the extractor's raises: resampling is the caller's job (loaders.media does it)."""
        if sampling_rate is not None and int(sampling_rate) != self.config.sampling_rate:
            raise FeatureExtractionError(
                f"{type(self).__name__} expects {self.config.sampling_rate} Hz audio but got {sampling_rate} Hz; "
                f"resample the audio to {self.config.sampling_rate} Hz first.")

    def as_batch(self, raw_speech) -> tuple[list[np.ndarray], bool]:
        """One waveform or a batch → (list of 1-D float32 arrays, whether the input was a batch)."""
        if hasattr(raw_speech, "detach"):  # a torch tensor
            raw_speech = raw_speech.detach().cpu().numpy()
        batched_array = isinstance(raw_speech, np.ndarray) and raw_speech.ndim > 1
        if batched_array and raw_speech.ndim > 2:
            raise FeatureExtractionError(f"{type(self).__name__} takes mono audio: got an array of shape "
                                         f"{raw_speech.shape}; downmix to one channel first.")
        batched = batched_array or (isinstance(raw_speech, (list, tuple)) and len(raw_speech) > 0
                                    and isinstance(raw_speech[0], (np.ndarray, list, tuple)))
        items = list(raw_speech) if batched else [raw_speech]
        out = []
        for item in items:
            array = np.asarray(item.detach().cpu().numpy() if hasattr(item, "detach") else item, dtype=np.float32)
            if array.ndim != 1:
                raise FeatureExtractionError(f"{type(self).__name__} takes 1-D waveforms: got shape {array.shape}; "
                                             "downmix to mono first.")
            out.append(array)
        if not out:
            raise FeatureExtractionError(f"{type(self).__name__} got an empty batch; pass at least one waveform.")
        return out, batched

    def pad(self, arrays: list[np.ndarray], padding: bool | str = True, max_length: int | None = None,
            truncation: bool = False, pad_to_multiple_of: int | None = None,
            return_attention_mask: bool = False) -> Padded:
        """Truncate then pad like transformers: padding True = "longest", False = "do_not_pad"."""
        strategy = _strategy(padding)
        if strategy == "max_length" and max_length is None:
            raise FeatureExtractionError("padding='max_length' needs max_length; pass max_length=… or padding=True.")
        if truncation and max_length is None:
            raise FeatureExtractionError("truncation=True needs max_length; pass max_length=….")
        limit = _round_up(max_length, pad_to_multiple_of) if max_length is not None else None
        cut = [a[:limit] if truncation and len(a) > limit else a for a in arrays]
        truncated = [len(a) - len(c) for a, c in zip(arrays, cut)]
        lengths = [len(c) for c in cut]
        if strategy == "longest":
            target = max(lengths)
        elif strategy == "max_length":
            target = max_length
        else:
            target = None
        if target is not None:
            target = _round_up(target, pad_to_multiple_of)
        rows = [self._pad_row(c, target) for c in cut]
        masks = [self._pad_row(np.ones(n, dtype=np.int32), target, 0) for n in lengths] if return_attention_mask \
            else None
        if len({len(r) for r in rows}) == 1:
            rows = np.stack(rows)
            masks = np.stack(masks) if masks is not None else None
        return Padded(rows, masks, lengths, truncated)

    def _pad_row(self, row: np.ndarray, target: int | None, value=None) -> np.ndarray:
        if target is None or len(row) >= target:
            return row
        value = self.config.padding_value if value is None else value
        width = (0, target - len(row)) if self.config.padding_side == "right" else (target - len(row), 0)
        return np.pad(row, width, constant_values=value)

    # ---------------------------------------------------------------- explain helpers
    def _explain_base(self, waveform, sampling_rate) -> np.ndarray:
        self.check_sampling_rate(sampling_rate)
        arrays, batched = self.as_batch(waveform)
        if batched and len(arrays) != 1:
            raise FeatureExtractionError("explain() takes one waveform, not a batch.")
        if arrays[0].size == 0:
            raise FeatureExtractionError("The waveform is empty (0 samples); give at least a fraction of a second.")
        return arrays[0]

    @staticmethod
    def _stats(**arrays) -> dict[str, dict]:
        return {name: stats(a) for name, a in arrays.items() if a is not None}


def _strategy(padding: bool | str) -> str:
    if padding is True:
        return "longest"
    if padding is False or padding is None:
        return "do_not_pad"
    text = str(getattr(padding, "value", padding))
    if text not in PADDING_STRATEGIES:
        raise FeatureExtractionError(f"padding={padding!r} is not valid; use True, False, 'longest', 'max_length' "
                                     "or 'do_not_pad'.")
    return text


def _round_up(n: int, multiple: int | None) -> int:
    if multiple is None or n % multiple == 0:
        return n
    return (n // multiple + 1) * multiple


def zero_mean_unit_var(rows, lengths: list[int] | None, padding_value: float) -> list[np.ndarray]:
    """Per-row `(x - mean) / sqrt(var + 1e-7)` (float32, population variance).

    With `lengths` (an attention mask was made) the statistics use the real samples and the padded tail
    is reset to `padding_value`; without, the padding takes part in the statistics (transformers' quirk).
    """
    out = []
    for i, row in enumerate(rows):
        n = len(row) if lengths is None else lengths[i]
        part = row[:n]
        normed = (row - part.mean()) / np.sqrt(part.var() + 1e-7)
        if n < len(normed):
            normed[n:] = padding_value
        out.append(normed)
    return out
