"""ASTFeatureExtractor (Audio Spectrogram Transformer): Kaldi-style log mel filter bank, padded or
trimmed to 1024 frames, then normalised with AudioSet's mean and std.

Kaldi fbank as torchaudio.compliance.kaldi computes it (torchaudio is not needed): frames of 25 ms
every 10 ms without centring ("snip edges"), per frame DC removal, pre-emphasis 0.97, symmetric
Hann window, FFT of 512, power spectrum, 128 triangles straight on Kaldi's mel scale from 20 Hz to
Nyquist, natural log floored at float32 epsilon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..batch import BatchFeature
from ..errors import FeatureExtractionError
from .mel import hann_window, mel_centre_frequencies, mel_filter_bank
from .sequence import SequenceFeatureExtractor

FRAME_LENGTH = 400  # 25 ms at 16 kHz
HOP_LENGTH = 160  # 10 ms
FFT_LENGTH = 512  # next power of two
PREEMPHASIS = 0.97
LOW_FREQUENCY = 20.0
MEL_FLOOR = 1.192092955078125e-07  # float32 epsilon, Kaldi's log floor


@dataclass
class ASTFeatureExtractorConfig:
    feature_size: int = 1
    sampling_rate: int = 16000
    num_mel_bins: int = 128
    max_length: int = 1024  # frames every input is padded / trimmed to
    padding_value: float = 0.0
    padding_side: str = "right"
    do_normalize: bool = True
    mean: float = -4.2677393  # AudioSet statistics of the log fbank
    std: float = 4.5689974
    return_attention_mask: bool = False


class ASTFeatureExtractor(SequenceFeatureExtractor):
    """`fe(raw_speech, sampling_rate=16000)` → BatchFeature(input_values (B, max_length, num_mel_bins))."""

    config_class = ASTFeatureExtractorConfig
    model_input_names = ["input_values", "attention_mask"]

    @property
    def mel_filters(self) -> np.ndarray:
        """(257, num_mel_bins) Kaldi mel triangles (no area normalisation), cached."""
        c = self.config
        return mel_filter_bank(FFT_LENGTH // 2 + 1, c.num_mel_bins, LOW_FREQUENCY, c.sampling_rate // 2,
                               c.sampling_rate, None, "kaldi", True)

    def __call__(self, raw_speech, sampling_rate: int | None = None, return_tensors: str | None = None,
                 **kwargs) -> BatchFeature:
        """Fbank of each item, padded with zeros / trimmed to `max_length` frames, then normalised."""
        self.check_sampling_rate(sampling_rate)
        arrays, _ = self.as_batch(raw_speech)
        features = [self.fit_length(self.fbank(a))[0] for a in arrays]
        if self.config.do_normalize:
            features = [self.normalize(f) for f in features]
        return BatchFeature(input_values=features).convert_to_tensors(return_tensors)

    def fbank(self, waveform: np.ndarray) -> np.ndarray:
        """(N,) waveform → (frames, num_mel_bins) float32 log mel energies, frames = 1 + (N - 400) // 160."""
        if len(waveform) < FRAME_LENGTH:
            raise FeatureExtractionError(f"The audio is shorter than one 25 ms frame ({len(waveform)} samples < "
                                         f"{FRAME_LENGTH}); give a longer clip.")
        x = waveform.astype(np.float64)
        frames = np.lib.stride_tricks.sliding_window_view(x, FRAME_LENGTH)[::HOP_LENGTH]  # (frames, 400)
        frames = frames - frames.mean(axis=1, keepdims=True)  # DC offset per frame
        emphasised = np.empty_like(frames)
        emphasised[:, 1:] = frames[:, 1:] - PREEMPHASIS * frames[:, :-1]
        emphasised[:, 0] = frames[:, 0] * (1 - PREEMPHASIS)
        spectrum = np.fft.rfft(emphasised * hann_window(FRAME_LENGTH, False), n=FFT_LENGTH, axis=1)
        power = spectrum.real ** 2 + spectrum.imag ** 2  # (frames, 257)
        mel = np.maximum(MEL_FLOOR, power @ self.mel_filters)
        return np.log(mel).astype(np.float32)

    def fit_length(self, fbank: np.ndarray) -> tuple[np.ndarray, int, int]:
        """Pad with zero rows or trim to max_length frames → (features, frames padded, frames cut)."""
        target = self.config.max_length
        n = fbank.shape[0]
        if n < target:
            return np.pad(fbank, ((0, target - n), (0, 0))), target - n, 0
        return fbank[:target], 0, n - target

    def normalize(self, features: np.ndarray) -> np.ndarray:
        """(x - mean) / (2 · std): AST's inputs are roughly in [-1, 1]."""
        return (features - self.config.mean) / (self.config.std * 2)

    # ---------------------------------------------------------------- for the UI
    def explain(self, waveform, sampling_rate: int | None = None) -> dict[str, Any]:
        """Intermediate signals for one waveform (see the package docstring)."""
        c = self.config
        x = self._explain_base(waveform, sampling_rate)
        before = self.fbank(x)
        fitted, pad_frames, cut_frames = self.fit_length(before)
        features = self.normalize(fitted) if c.do_normalize else fitted
        steps = [
            {"name": "fbank", "keys": ("num_mel_bins", "sampling_rate"),
             "detail": f"Kaldi fbank: 25 ms frames every 10 ms (no centring), DC removal, pre-emphasis 0.97, "
                       f"Hann, FFT 512, {c.num_mel_bins} mel bins {LOW_FREQUENCY:g}–{c.sampling_rate // 2} Hz, "
                       f"natural log → {before.shape[0]} frames"},
            {"name": "pad / truncate", "keys": ("max_length",),
             "detail": f"{pad_frames} zero frames added, {cut_frames} frames cut → {c.max_length} frames"},
        ]
        if c.do_normalize:
            steps.append({"name": "normalize", "keys": ("do_normalize", "mean", "std"),
                          "detail": f"(x - ({c.mean})) / (2 × {c.std})"})
        valid_frames = before.shape[0] - cut_frames
        return {"input": x, "waveform": x, "features": features, "features_before_padding": before,
                "feature_axis": {"time": "frames", "frame_rate": c.sampling_rate / HOP_LENGTH,
                                 "mel_hz": mel_centre_frequencies(c.num_mel_bins, LOW_FREQUENCY, c.sampling_rate // 2,
                                                                  "kaldi")},
                "valid_samples": len(x), "total_samples": len(x), "valid_frames": valid_frames,
                "padding": {"side": "right", "samples": 0, "frames": pad_frames, "truncated_samples": 0,
                            "truncated_frames": cut_frames, "value": 0.0},
                "attention_mask": None, "stats": self._stats(input=x, waveform=x, features=features),
                "steps": steps}

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {**super().describe(), "frame_length": FRAME_LENGTH, "hop_length": HOP_LENGTH, "n_fft": FFT_LENGTH,
                "preemphasis": PREEMPHASIS, "low_frequency": LOW_FREQUENCY, "high_frequency": c.sampling_rate // 2,
                "mel_scale": "kaldi", "model_input_names": ["input_values"]}
