"""Mel scales and triangular mel filter banks, in numpy (the same formulas as transformers' audio_utils
and librosa). Filter banks are cached: they depend only on a handful of integers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Slaney's scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above.
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = 15.0
_SLANEY_LOGSTEP = 27.0 / np.log(6.4)


def hertz_to_mel(freq, mel_scale: str = "htk"):
    """Hz → mel on the "htk", "kaldi" or "slaney" scale (scalar or array)."""
    freq = np.asarray(freq, dtype=np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    if mel_scale == "kaldi":
        return 1127.0 * np.log(1.0 + freq / 700.0)
    if mel_scale != "slaney":
        raise ValueError(f"unknown mel scale {mel_scale!r}")
    mels = 3.0 * freq / 200.0
    log_region = freq >= _SLANEY_MIN_LOG_HZ
    safe = np.where(log_region, freq, _SLANEY_MIN_LOG_HZ)  # avoid log(0) in the linear region
    return np.where(log_region, _SLANEY_MIN_LOG_MEL + np.log(safe / _SLANEY_MIN_LOG_HZ) * _SLANEY_LOGSTEP, mels)


def mel_to_hertz(mels, mel_scale: str = "htk"):
    """mel → Hz, the inverse of `hertz_to_mel`."""
    mels = np.asarray(mels, dtype=np.float64)
    if mel_scale == "htk":
        return 700.0 * (np.power(10, mels / 2595.0) - 1.0)
    if mel_scale == "kaldi":
        return 700.0 * (np.exp(mels / 1127.0) - 1.0)
    if mel_scale != "slaney":
        raise ValueError(f"unknown mel scale {mel_scale!r}")
    freq = 200.0 * mels / 3.0
    log_region = mels >= _SLANEY_MIN_LOG_MEL
    return np.where(log_region, _SLANEY_MIN_LOG_HZ * np.exp((mels - _SLANEY_MIN_LOG_MEL) / _SLANEY_LOGSTEP), freq)


def _triangles(fft_freqs: np.ndarray, filter_freqs: np.ndarray) -> np.ndarray:
    # (n_bins, n_mels): rising edge from filter i-1 to i, falling edge from i to i+1.
    diff = np.diff(filter_freqs)
    slopes = filter_freqs[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    return np.maximum(0.0, np.minimum(down, up))


@lru_cache(maxsize=16)
def mel_filter_bank(num_frequency_bins: int, num_mel_filters: int, min_frequency: float, max_frequency: float,
                    sampling_rate: int, norm: str | None = None, mel_scale: str = "htk",
                    triangularize_in_mel_space: bool = False) -> np.ndarray:
    """(num_frequency_bins, num_mel_filters) float64 filters, read-only (cached and shared).

    Whisper: `mel_filter_bank(201, 80, 0, 8000, 16000, "slaney", "slaney")` = librosa's
    `filters.mel(sr=16000, n_fft=400, n_mels=80, fmax=8000, norm="slaney")`.
    AST (Kaldi): `mel_filter_bank(257, 128, 20, 8000, 16000, None, "kaldi", True)`.
    """
    mel_freqs = np.linspace(hertz_to_mel(min_frequency, mel_scale), hertz_to_mel(max_frequency, mel_scale),
                            num_mel_filters + 2)
    filter_freqs = mel_to_hertz(mel_freqs, mel_scale)
    if triangularize_in_mel_space:  # Kaldi: triangles are straight in mel, not in Hz
        bin_width = sampling_rate / ((num_frequency_bins - 1) * 2)
        fft_freqs = hertz_to_mel(bin_width * np.arange(num_frequency_bins), mel_scale)
        filters = _triangles(fft_freqs, mel_freqs)
    else:
        filters = _triangles(np.linspace(0, sampling_rate // 2, num_frequency_bins), filter_freqs)
    if norm == "slaney":  # roughly constant energy per channel
        filters = filters * (2.0 / (filter_freqs[2:num_mel_filters + 2] - filter_freqs[:num_mel_filters]))[None, :]
    filters.flags.writeable = False
    return filters


def mel_centre_frequencies(num_mel_filters: int, min_frequency: float, max_frequency: float,
                           mel_scale: str) -> list[float]:
    """Centre frequency in Hz of each mel filter (for a spectrogram's y axis)."""
    mel_freqs = np.linspace(hertz_to_mel(min_frequency, mel_scale), hertz_to_mel(max_frequency, mel_scale),
                            num_mel_filters + 2)
    return [float(f) for f in mel_to_hertz(mel_freqs[1:-1], mel_scale)]


@lru_cache(maxsize=8)
def hann_window(length: int, periodic: bool = True) -> np.ndarray:
    """Hann window (float64, read-only); periodic = the first `length` points of a `length+1` window."""
    window = np.hanning(length + 1)[:-1] if periodic else np.hanning(length)
    window.flags.writeable = False
    return window
