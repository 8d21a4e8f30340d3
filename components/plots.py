"""Plots shared by the tabs, rendered server-side to PIL images with matplotlib's Agg canvas.

No pyplot: each call builds its own `Figure`, so concurrent requests share no global state.
Long signals are drawn as a min/max envelope (one column per pixel), so a 5-minute waveform costs
the same as a 5-second one; spectrograms are one `imshow`. Target: a 30 s log-mel in < 0.5 s
(measured by bench/bench_plots.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DPI = 100
WIDTH_IN = 11.0  # inches at DPI → 1100 px, the width of the tab's main column
WAVE_COLOR = "#2563eb"
PAD_COLOR = "#f59e0b"  # padding / truncation regions, in every plot


@dataclass
class WaveRow:
    """One waveform row: `signal` (samples,) at `rate`; `valid` = seconds of real signal (rest is padding)."""

    label: str
    signal: np.ndarray
    rate: int
    valid: float | None = None
    mask: np.ndarray | None = None  # attention mask per sample, drawn as a strip under the row


def figure_to_image(fig):
    """Render a matplotlib Figure with Agg and return it as a PIL RGB image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return Image.fromarray(rgba[..., :3].copy())


def _figure(height_in: float, width_in: float = WIDTH_IN):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def envelope(signal: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column (index, min, max) of `signal`: what a waveform looks like at `columns` pixels."""
    n = len(signal)
    if n <= columns * 2:
        idx = np.arange(n)
        return idx, signal, signal
    edges = np.linspace(0, n, columns + 1).astype(np.int64)
    lo = np.minimum.reduceat(signal, edges[:-1])
    hi = np.maximum.reduceat(signal, edges[:-1])
    return edges[:-1], lo, hi


def waveform_figure(rows: list[WaveRow]):
    """Stacked waveforms on one time axis (seconds); padding shaded, attention masks as strips."""
    fig = _figure(1.25 * len(rows) + 0.5)
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for ax, row in zip(axes, rows):
        _draw_wave(ax, row)
    axes[-1].set_xlabel("time (s)")
    return figure_to_image(fig)


def _draw_wave(ax, row: WaveRow) -> None:
    signal = np.asarray(row.signal, dtype=np.float32)
    idx, lo, hi = envelope(signal, 1600)
    t = idx / row.rate
    ax.fill_between(t, lo, hi, color=WAVE_COLOR, linewidth=0.6, edgecolor=WAVE_COLOR)
    total = len(signal) / row.rate
    if row.valid is not None and row.valid < total:
        ax.axvspan(row.valid, total, color=PAD_COLOR, alpha=0.18, lw=0)
        ax.text((row.valid + total) / 2, 0.92, "padding", transform=ax.get_xaxis_transform(), ha="center",
                va="top", fontsize=8, color="#92400e")
    if row.mask is not None:
        _mask_strip(ax, row.mask, row.rate)
    peak = float(np.abs(signal).max()) if signal.size else 0.0
    ax.set_ylim(-1.1 * peak - 1e-6, 1.1 * peak + 1e-6)
    ax.set_xlim(0, max(total, 1e-3))
    ax.set_title(row.label, loc="left", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)


def _mask_strip(ax, mask: np.ndarray, rate: int) -> None:
    """attention_mask along the bottom of a waveform row: dark where 1 (attend), empty where 0."""
    mask = np.asarray(mask).reshape(1, -1).astype(np.float32)
    ax.imshow(mask, extent=(0, mask.shape[1] / rate, 0, 0.08), transform=ax.get_xaxis_transform(),
              aspect="auto", cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest", origin="lower")
    ax.text(0.998, 0.1, "attention_mask (grey = 1)", transform=ax.transAxes, fontsize=7, color="#374151",
            ha="right", va="bottom")


def spectrogram_image(features: np.ndarray, frame_rate: float, mel_hz: list[float] | None = None,
                      valid_frames: int | None = None, title: str = "", unit: str = "log-mel",
                      truncated_seconds: float = 0.0):
    """Spectrogram `features` (bins, frames) with real axes: seconds, bin index and Hz, and a colour bar.

    Frames from `valid_frames` on are padding: shaded and labelled; a truncation note goes in the title.
    """
    feats = np.asarray(features, dtype=np.float32)
    bins, frames = feats.shape
    seconds = frames / frame_rate
    fig = _figure(3.4)
    ax = fig.add_subplot()
    im = ax.imshow(feats, origin="lower", aspect="auto", cmap="magma", interpolation="antialiased",
                   extent=(0, seconds, -0.5, bins - 0.5))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{unit} bin")
    if mel_hz is not None and len(mel_hz) == bins:
        _hz_axis(ax, mel_hz)
    if valid_frames is not None and valid_frames < frames:
        start = valid_frames / frame_rate
        ax.axvspan(start, seconds, facecolor="white", alpha=0.12, lw=0)
        ax.axvline(start, color=PAD_COLOR, lw=2)
        ax.text(start + 0.01 * seconds, bins * 0.95, f"padding from {start:.2f} s", color="#78350f", fontsize=9,
                va="top", fontweight="bold", bbox={"facecolor": "#fef3c7", "edgecolor": PAD_COLOR, "alpha": 0.9})
    if truncated_seconds > 0:
        title += f"  —  {truncated_seconds:.2f} s cut off (truncation)"
    ax.set_title(title, loc="left", fontsize=10)
    fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03, label="value fed to the model")
    return figure_to_image(fig)


def _hz_axis(ax, mel_hz: list[float]) -> None:
    """A right-hand axis labelling some bins with their centre frequency in Hz."""
    bins = len(mel_hz)
    ticks = np.linspace(0, bins - 1, 6).round().astype(int)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(ticks, [_hz(mel_hz[i]) for i in ticks])
    right.set_ylabel("centre frequency")


def _hz(value: float) -> str:
    return f"{value / 1000:.1f} kHz" if value >= 1000 else f"{value:.0f} Hz"


def image_steps(panels: list[tuple[str, object, tuple[int, int, int, int] | None]]):
    """One row of images with pixel axes: (title, PIL image or HWC array, optional crop box to outline)."""
    fig = _figure(3.3)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, image, box) in zip(axes, panels):
        array = np.asarray(image)
        ax.imshow(array, cmap="gray" if array.ndim == 2 else None, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        if box is not None:
            from matplotlib.patches import Rectangle

            left, top, right, bottom = box
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                   edgecolor=PAD_COLOR, lw=2, ls="--"))
    return figure_to_image(fig)


def channel_images(chw: np.ndarray, names: tuple[str, ...] = ("R", "G", "B"), subtitles: list[str] | None = None):
    """Each channel of a normalised (C, H, W) tensor, on one diverging colour scale centred at 0."""
    chw = np.asarray(chw, dtype=np.float32)
    fig = _figure(3.0, 9.0)
    axes = fig.subplots(1, chw.shape[0], squeeze=False)[0]
    limit = float(np.abs(chw).max()) or 1.0
    for i, ax in enumerate(axes):
        im = ax.imshow(chw[i], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        label = names[i] if i < len(names) else f"channel {i}"
        ax.set_title(label + (f"\n{subtitles[i]}" if subtitles else ""), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), pad=0.01, fraction=0.03, label="normalised value")
    return figure_to_image(fig)
