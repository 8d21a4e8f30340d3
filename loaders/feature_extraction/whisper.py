"""WhisperFeatureExtractor: pad/trim to 30 s, log-mel spectrogram (80 or 128 Slaney mel bins).

STFT: periodic Hann window of n_fft=400, hop 160 (100 frames per second), centred with reflect
padding, power 2; the last frame is dropped (3000 frames for 30 s). Then log10(max(mel, 1e-10)),
floored at (max - 8) per example, and (x + 4) / 4. Computed with torch.stft, a few examples at a time
(bounded temporaries: the big-batch cost is memory traffic, not arithmetic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..batch import BatchFeature
from ..errors import FeatureExtractionError
from .mel import mel_centre_frequencies, mel_filter_bank
from .sequence import SequenceFeatureExtractor, zero_mean_unit_var

MEL_FLOOR = 1e-10
DYNAMIC_RANGE = 8.0  # log10 units kept below each example's maximum (80 dB)
MAX_FREQUENCY = 8000.0  # the mel filters stop at 8 kHz whatever the rate (transformers' choice)
EXAMPLES_PER_STEP = 4  # 30 s examples per STFT call: ~20 MB temporaries instead of 16× that


@dataclass
class WhisperFeatureExtractorConfig:
    feature_size: int = 80  # mel bins (128 for large-v3)
    sampling_rate: int = 16000
    hop_length: int = 160  # 10 ms: 3000 frames in 30 s
    chunk_length: int = 30  # seconds every input is padded / trimmed to
    n_fft: int = 400  # 25 ms window
    padding_value: float = 0.0
    padding_side: str = "right"
    dither: float = 0.0
    return_attention_mask: bool = False

    @property
    def n_samples(self) -> int:
        return self.chunk_length * self.sampling_rate

    @property
    def nb_max_frames(self) -> int:
        return self.n_samples // self.hop_length


class WhisperFeatureExtractor(SequenceFeatureExtractor):
    """`fe(raw_speech, sampling_rate=16000)` → BatchFeature(input_features (B, feature_size, 3000))."""

    config_class = WhisperFeatureExtractorConfig
    model_input_names = ["input_features"]
    derived_keys = {"mel_filters": "recomputed from feature_size, n_fft and sampling_rate (as transformers does)",
                    "n_samples": "derived: chunk_length × sampling_rate",
                    "nb_max_frames": "derived: n_samples // hop_length"}

    @property
    def mel_filters(self) -> np.ndarray:
        """(1 + n_fft // 2, feature_size) Slaney-normalised filters on the Slaney scale, 0–8 kHz (cached)."""
        c = self.config
        return mel_filter_bank(1 + c.n_fft // 2, c.feature_size, 0.0, MAX_FREQUENCY, c.sampling_rate,
                               "slaney", "slaney")

    def __call__(self, raw_speech, truncation: bool = True, pad_to_multiple_of: int | None = None,
                 return_tensors: str | None = None, return_attention_mask: bool | None = None,
                 padding: bool | str = "max_length", max_length: int | None = None,
                 sampling_rate: int | None = None, do_normalize: bool | None = None, **kwargs) -> BatchFeature:
        """Pad/trim to `max_length` samples (default 30 s), then the log-mel of each item."""
        self.check_sampling_rate(sampling_rate)
        arrays, _ = self.as_batch(raw_speech)
        # transformers' rule: a falsy call argument falls back to the config's return_attention_mask.
        want_mask = bool(return_attention_mask or do_normalize or self.config.return_attention_mask)
        padded = self.pad(arrays, padding, max_length or self.config.n_samples, truncation, pad_to_multiple_of,
                          want_mask)
        values = padded.values
        if do_normalize:
            values = zero_mean_unit_var(values, padded.lengths, self.config.padding_value)
            values = np.stack(values) if len({len(v) for v in values}) == 1 else values
        if isinstance(values, list):  # ragged (padding off): one spectrogram per item
            features = [self.log_mel(v[None])[0] for v in values]
        else:
            features = self.log_mel(np.asarray(values))
        out = BatchFeature(input_features=features)
        if return_attention_mask:
            out["attention_mask"] = self._frame_mask(padded.mask)
        elif padded.mask is not None:  # mask not asked for in the call: transformers returns it per sample
            out["attention_mask"] = padded.mask
        return out.convert_to_tensors(return_tensors)

    def _frame_mask(self, mask):
        # Per-sample mask → per-frame mask: one value per hop, the partial last hop dropped.
        if isinstance(mask, list):
            return [self._frame_mask(m[None])[0] for m in mask]
        frames = mask[:, :: self.config.hop_length]
        return frames[:, :-1] if mask.shape[1] % self.config.hop_length else frames

    def log_mel(self, batch: np.ndarray) -> np.ndarray:
        """(B, N) float32 waveforms → (B, feature_size, N // hop) float32 log-mel features."""
        import torch

        c = self.config
        if batch.shape[-1] <= c.n_fft // 2:
            raise FeatureExtractionError(f"The audio is too short for a {c.n_fft}-sample window "
                                         f"({batch.shape[-1]} samples); pad it or pass padding='max_length'.")
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            if c.dither:
                x = x + c.dither * torch.randn_like(x)
            filters = torch.from_numpy(np.ascontiguousarray(self.mel_filters, dtype=np.float32))  # (bins, mels)
            window = torch.from_numpy(_hann32(c.n_fft))
            half = c.n_fft // 2
            mel = torch.empty(x.shape[0], c.feature_size, x.shape[1] // c.hop_length)  # (B, mels, frames)
            for start in range(0, x.shape[0], EXAMPLES_PER_STEP):  # bounded temporaries: stay in cache
                group = x[start:start + EXAMPLES_PER_STEP, None]  # (G, 1, N)
                # Centred periodic-Hann STFT written as frames → rfft, the last frame dropped: the same
                # numbers as torch.stft, but (frames, bins) rows make the power and mel steps contiguous.
                padded = torch.nn.functional.pad(group, (half, half), mode="reflect")[:, 0]
                frames = padded.unfold(-1, c.n_fft, c.hop_length)[:, :-1] * window  # (G, frames, n_fft)
                spec = torch.fft.rfft(frames)  # (G, frames, bins)
                power = spec.real.square() + spec.imag.square()  # |X|² without abs()'s square root
                mel[start:start + EXAMPLES_PER_STEP] = (power @ filters).transpose(1, 2)
            log_spec = mel.clamp_(min=MEL_FLOOR).log10_()
            peak = log_spec.amax(dim=(1, 2), keepdim=True)
            log_spec = torch.maximum(log_spec, peak - DYNAMIC_RANGE).add_(4.0).div_(4.0)
        return log_spec.numpy()

    # ---------------------------------------------------------------- for the UI
    def explain(self, waveform, sampling_rate: int | None = None, max_length: int | None = None,
                truncation: bool = True, padding: bool | str = "max_length") -> dict[str, Any]:
        """Intermediate signals for one waveform (see the package docstring)."""
        c = self.config
        x = self._explain_base(waveform, sampling_rate)
        padded = self.pad([x], padding, max_length or c.n_samples, truncation, None, True)
        row, n = np.asarray(padded.values[0]), padded.lengths[0]
        features = self.log_mel(row[None])[0]
        before = self.log_mel(row[None, :n])[0] if n > c.n_fft // 2 else None
        valid_frames = min(features.shape[1], -(-n // c.hop_length))
        steps = [
            {"name": "pad / truncate", "keys": ("chunk_length", "sampling_rate", "padding_value"),
             "detail": f"{n} samples kept ({n / c.sampling_rate:.2f} s), {len(row) - n} zeros added, "
                       f"{padded.truncated[0]} cut: every input becomes {len(row) / c.sampling_rate:g} s"},
            {"name": "stft", "keys": ("n_fft", "hop_length"),
             "detail": f"periodic Hann window of {c.n_fft}, hop {c.hop_length}, centred (reflect), power 2, "
                       f"last frame dropped → {features.shape[1]} frames"},
            {"name": "mel", "keys": ("feature_size",),
             "detail": f"{c.feature_size} Slaney mel filters, 0–{MAX_FREQUENCY:g} Hz"},
            {"name": "log", "keys": (), "detail": "log10(max(mel, 1e-10)), floored at max − 8, then (x + 4) / 4"},
        ]
        return {"input": x, "waveform": row, "features": features, "features_before_padding": before,
                "feature_axis": {"time": "frames", "frame_rate": c.sampling_rate / c.hop_length,
                                 "mel_hz": mel_centre_frequencies(c.feature_size, 0.0, MAX_FREQUENCY, "slaney")},
                "valid_samples": n, "total_samples": len(row), "valid_frames": valid_frames,
                "padding": {"side": c.padding_side, "samples": len(row) - n,
                            "frames": features.shape[1] - valid_frames, "truncated_samples": padded.truncated[0],
                            "truncated_frames": padded.truncated[0] // c.hop_length, "value": c.padding_value},
                "attention_mask": np.asarray(padded.mask[0]),
                "stats": self._stats(input=x, waveform=row, features=features), "steps": steps}

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {**super().describe(), "n_samples": c.n_samples, "nb_max_frames": c.nb_max_frames,
                "mel_scale": "slaney", "mel_norm": "slaney", "max_frequency": MAX_FREQUENCY,
                "model_input_names": list(self.model_input_names)}


def _hann32(n: int) -> np.ndarray:
    from .mel import hann_window

    return hann_window(n, True).astype(np.float32)
