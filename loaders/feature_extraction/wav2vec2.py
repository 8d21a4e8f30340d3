"""Wav2Vec2FeatureExtractor: the raw waveform, padded, then zero-mean / unit-variance per item.

Known quirk (kept for parity): without an attention mask the padded zeros take part in the mean and
variance, so a short clip padded in a batch is normalised differently than alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..batch import BatchFeature
from .sequence import SequenceFeatureExtractor, _strategy, zero_mean_unit_var


@dataclass
class Wav2Vec2FeatureExtractorConfig:
    feature_size: int = 1
    sampling_rate: int = 16000
    padding_value: float = 0.0
    padding_side: str = "right"
    return_attention_mask: bool = False
    do_normalize: bool = True


class Wav2Vec2FeatureExtractor(SequenceFeatureExtractor):
    """`fe(raw_speech, sampling_rate=16000, padding=False, ...)` → BatchFeature(input_values[, attention_mask])."""

    config_class = Wav2Vec2FeatureExtractorConfig
    model_input_names = ["input_values", "attention_mask"]

    def __call__(self, raw_speech, padding: bool | str = False, max_length: int | None = None,
                 truncation: bool = False, pad_to_multiple_of: int | None = None,
                 return_attention_mask: bool | None = None, return_tensors: str | None = None,
                 sampling_rate: int | None = None, **kwargs) -> BatchFeature:
        """Pad (default: not at all), then normalise each item if `do_normalize`."""
        self.check_sampling_rate(sampling_rate)
        arrays, _ = self.as_batch(raw_speech)
        want_mask = self.config.return_attention_mask if return_attention_mask is None else return_attention_mask
        padded = self.pad(arrays, padding, max_length, truncation, pad_to_multiple_of, want_mask)
        values = padded.values
        if self.config.do_normalize:
            # The mask only counts when padding was asked for (transformers' rule); else stats use every sample.
            use_mask = padded.mask is not None and _strategy(padding) != "do_not_pad"
            values = zero_mean_unit_var(values, padded.lengths if use_mask else None, self.config.padding_value)
        out = BatchFeature(input_values=list(values))
        if padded.mask is not None:
            out["attention_mask"] = list(padded.mask)
        return out.convert_to_tensors(return_tensors)

    def explain(self, waveform, sampling_rate: int | None = None, padding: bool | str = False,
                max_length: int | None = None, truncation: bool = False) -> dict[str, Any]:
        """Intermediate signals for one waveform (see the package docstring)."""
        x = self._explain_base(waveform, sampling_rate)
        padded = self.pad([x], padding, max_length, truncation, None, True)
        row = np.asarray(padded.values[0])
        n = padded.lengths[0]
        steps = [{"name": "pad / truncate", "keys": ("padding_value", "padding_side"),
                  "detail": f"{n} samples kept, {len(row) - n} padding, {padded.truncated[0]} cut"}]
        features = row
        if self.config.do_normalize:
            part = row[:n]
            features = zero_mean_unit_var([row], [n], self.config.padding_value)[0]
            steps.append({"name": "normalize", "keys": ("do_normalize",),
                          "detail": f"(x - {float(part.mean()):.4g}) / sqrt({float(part.var()):.4g} + 1e-7)"})
        return {"input": x, "waveform": features, "features": features, "features_before_padding": None,
                "feature_axis": {"time": "samples", "frame_rate": self.config.sampling_rate, "mel_hz": None},
                "valid_samples": n, "total_samples": len(row), "valid_frames": None,
                "padding": {"side": self.config.padding_side, "samples": len(row) - n, "frames": None,
                            "truncated_samples": padded.truncated[0], "truncated_frames": None,
                            "value": self.config.padding_value},
                "attention_mask": np.asarray(padded.mask[0]), "stats": self._stats(input=x, waveform=features,
                                                                                  features=features),
                "steps": steps}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model_input_names": list(self.model_input_names)}
