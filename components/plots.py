"""Plots shared by the tabs, rendered server-side to PIL images with matplotlib's Agg canvas.

No pyplot: each call builds its own `Figure`, so concurrent requests share no global state.
Long signals are drawn as a min/max envelope (one column per pixel), so a 5-minute waveform costs
the same as a 5-second one; spectrograms are one `imshow`. Target: a 30 s log-mel in < 0.5 s
(measured by bench/bench_plots.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DPI = 100
WIDTH_IN = 11.0  # inches at DPI → 1100 px, the width of the tab's main column
WAVE_COLOR = "#2563eb"
PAD_COLOR = "#f59e0b"  # padding regions, in every plot
CUT_COLOR = "#dc2626"  # what truncation drops


@dataclass
class WaveRow:
    """One waveform row: `signal` (samples,) at `rate`; `valid` = seconds of real signal (rest is padding)."""

    label: str
    signal: np.ndarray
    rate: int
    valid: float | None = None
    mask: np.ndarray | None = None  # attention mask per sample, drawn as a strip under the row
    cut: float | None = None  # seconds from which truncation drops the signal
    mask_label: str = "attention_mask"


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
    from matplotlib.figure import Figure

    height = 1.3 * len(rows) + 0.55
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)  # fixed margins: constrained layout costs ~40 %
    fig.subplots_adjust(left=0.055, right=0.99, top=1 - 0.3 / height, bottom=0.5 / height, hspace=0.45)
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for ax, row in zip(axes, rows):
        _draw_wave(ax, row)
    # One time axis for all rows: the longest (e.g. an input longer than a truncating window).
    axes[-1].set_xlim(0, max(max(len(r.signal) / r.rate for r in rows), 1e-3))
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
    if row.cut is not None and row.cut < total:
        ax.axvspan(row.cut, total, color=CUT_COLOR, alpha=0.15, lw=0)
        ax.axvline(row.cut, color=CUT_COLOR, lw=1.5)
        ax.text((row.cut + total) / 2, 0.92, "cut off by truncation", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8, color=CUT_COLOR,
                bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})
    if row.mask is not None:
        _mask_strip(ax, row.mask, row.rate, row.mask_label)
    peak = float(np.abs(signal).max()) if signal.size else 0.0
    ax.set_ylim(-1.1 * peak - 1e-6, 1.1 * peak + 1e-6)
    ax.set_title(row.label, loc="left", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)


def _mask_strip(ax, mask: np.ndarray, rate: int, label: str) -> None:
    """attention_mask along the bottom of a waveform row: dark where 1 (attend), empty where 0."""
    mask = np.asarray(mask).reshape(1, -1).astype(np.float32)
    ax.imshow(mask, extent=(0, mask.shape[1] / rate, 0, 0.08), transform=ax.get_xaxis_transform(),
              aspect="auto", cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest", origin="lower")
    ax.text(0.998, 0.1, f"{label}: grey = 1", transform=ax.transAxes, fontsize=7, color="#374151",
            ha="right", va="bottom")


def spectrogram_image(features: np.ndarray, frame_rate: float, mel_hz: list[float] | None = None,
                      valid_frames: int | None = None, title: str = "", unit: str = "log-mel",
                      truncated_seconds: float = 0.0, zoom: bool = True):
    """Spectrogram `features` (bins, frames) with real axes: seconds, bin index and Hz, and a colour bar.

    Frames from `valid_frames` on are padding: shaded and labelled; a truncation note goes in the title.
    With `zoom`, when the real signal fills under 60 % of the window, a second row shows it alone.
    """
    feats = np.asarray(features, dtype=np.float32)
    bins, frames = feats.shape
    zoomed = zoom and valid_frames is not None and 0 < valid_frames < 0.6 * frames
    fig, axes, cax = _spectrogram_axes(2 if zoomed else 1)
    vmin, vmax = float(feats.min()), float(feats.max())
    im = _draw_spectrogram(axes[0], feats, frame_rate, mel_hz, unit, vmin, vmax)
    if valid_frames is not None and valid_frames < frames:
        _mark_padding(axes[0], valid_frames / frame_rate, frames / frame_rate, bins)
    if truncated_seconds > 0:
        title += f"  —  {truncated_seconds:.2f} s cut off (truncation)"
    axes[0].set_title(title, loc="left", fontsize=10)
    if zoomed:
        end = min(frames, valid_frames + max(5, valid_frames // 50))  # a little padding stays visible
        _draw_spectrogram(axes[1], feats[:, :end], frame_rate, mel_hz, unit, vmin, vmax)
        _mark_padding(axes[1], valid_frames / frame_rate, end / frame_rate, bins, label=False)
        axes[1].set_title(f"zoom: the first {end / frame_rate:.2f} s, where the real signal is", loc="left",
                          fontsize=10)
    fig.colorbar(im, cax=cax, label="value fed to the model")
    return figure_to_image(fig)


def _spectrogram_axes(rows: int):
    """Fixed axes rectangles (no constrained layout: it would lay the text out twice, ~40 % of the time)."""
    from matplotlib.figure import Figure

    row_in, top_in, bottom_in, gap_in = 2.45, 0.35, 0.55, 0.75
    height = top_in + bottom_in + rows * row_in + (rows - 1) * gap_in
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    axes = []
    for r in range(rows):
        bottom = bottom_in + (rows - 1 - r) * (row_in + gap_in)
        axes.append(fig.add_axes((0.065, bottom / height, 0.78, row_in / height)))
    cax = fig.add_axes((0.925, bottom_in / height, 0.012, (height - top_in - bottom_in) / height))
    return fig, axes, cax


def _draw_spectrogram(ax, feats: np.ndarray, frame_rate: float, mel_hz, unit: str, vmin: float, vmax: float):
    bins, frames = feats.shape
    im = ax.imshow(feats, origin="lower", aspect="auto", cmap="magma", interpolation="antialiased",
                   extent=(0, frames / frame_rate, -0.5, bins - 0.5), vmin=vmin, vmax=vmax)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{unit} bin")
    if mel_hz is not None and len(mel_hz) == bins:
        _hz_axis(ax, mel_hz)
    return im


def _mark_padding(ax, start: float, end: float, bins: int, label: bool = True) -> None:
    ax.axvspan(start, end, facecolor="white", alpha=0.12, lw=0)
    ax.axvline(start, color=PAD_COLOR, lw=2)
    if label:
        ax.text(start + 0.01 * end, bins * 0.95, f"padding from {start:.2f} s", color="#78350f", fontsize=9,
                va="top", fontweight="bold", bbox={"facecolor": "#fef3c7", "edgecolor": PAD_COLOR, "alpha": 0.9})


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


# ---------------------------------------------------------------------------------------- images
# Image panels are composed with Pillow directly: pixels shown as they are, ~100× faster than axes.
PANEL_H = 240  # display height of each image panel
MAX_ROW_WIDTH = 1140  # px: wider rows would be cropped by the page's image box
GAP = 34  # room between panels for the arrow
TITLE_H = 40


def _font(size: int):
    from PIL import ImageFont

    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(path), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


def _fit(image, height: int = PANEL_H, max_width: int = 360):
    """Scale a PIL image to `height` (width capped), nearest when enlarging so pixels stay visible."""
    from PIL import Image

    scale = min(height / image.height, max_width / image.width)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.NEAREST if scale > 1 else Image.BILINEAR), scale


def _as_pil(image):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGBA") if image.mode in ("P", "LA", "PA") else image
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)


def image_steps(panels: list[tuple[str, object, tuple[int, int, int, int] | None]]):
    """Images side by side with arrows: (title, PIL image or HWC array, optional crop box to outline).

    Titles may hold two lines ("step\ndetail"); each panel is scaled to one height, its real size in its title.
    """
    from PIL import Image, ImageDraw

    images = [_as_pil(image) for _, image, _ in panels]
    height = PANEL_H
    for _ in range(3):  # shrink until the row fits the page's main column
        fitted = [(title, *_fit(im, height, int(height * 1.5)), box) for (title, _, box), im in zip(panels, images)]
        width = sum(f[1].width for f in fitted) + GAP * (len(fitted) - 1) + 20
        if width <= MAX_ROW_WIDTH:
            break
        height = int(height * (MAX_ROW_WIDTH - GAP * len(fitted)) / (width - GAP * len(fitted)))
    font = _font(13)
    last_title = max(font.getlength(line) for line in fitted[-1][0].splitlines())
    width += max(0, int(last_title) - fitted[-1][1].width)  # the last title may be wider than its image
    canvas = Image.new("RGB", (width, height + TITLE_H + 12), "white")
    draw, x = ImageDraw.Draw(canvas), 10
    for i, (title, image, scale, box) in enumerate(fitted):
        canvas.paste(image.convert("RGBA"), (x, TITLE_H), image.convert("RGBA"))
        draw.multiline_text((x, 2), title, fill="#111827", font=font, spacing=2)
        if box is not None:
            left, top, right, bottom = (round(v * scale) for v in box)
            draw.rectangle((x + left, TITLE_H + top, x + right - 1, TITLE_H + bottom - 1), outline=PAD_COLOR, width=3)
        x += image.width
        if i < len(fitted) - 1:
            mid = TITLE_H + height // 2
            draw.line((x + 6, mid, x + GAP - 8, mid), fill="#6b7280", width=3)
            draw.polygon([(x + GAP - 6, mid), (x + GAP - 14, mid - 6), (x + GAP - 14, mid + 6)], fill="#6b7280")
            x += GAP
    return canvas


def channel_images(chw: np.ndarray, names: tuple[str, ...] = ("R", "G", "B"), subtitles: list[str] | None = None):
    """Each channel of a (C, H, W) model input on one colour scale, with a colour bar.

    Normalised tensors (negative values) use a diverging scale centred at 0; unnormalised ones
    (e.g. LayoutLMv2's uint8) a grey scale from 0.
    """
    from matplotlib import colormaps
    from PIL import Image, ImageDraw

    chw = np.asarray(chw, dtype=np.float32)
    signed = float(chw.min()) < 0
    high = float(np.abs(chw).max()) or 1.0
    low = -high if signed else 0.0
    lut = (colormaps["RdBu_r" if signed else "gray"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    index = np.clip((chw - low) / (high - low) * 255, 0, 255).astype(np.uint8)
    tiles = [_fit(Image.fromarray(lut[index[i]]))[0] for i in range(chw.shape[0])]
    top = TITLE_H + 16  # three title lines
    width = sum(t.width for t in tiles) + 16 * len(tiles) + 90
    canvas = Image.new("RGB", (width, PANEL_H + top + 12), "white")
    draw, font, x = ImageDraw.Draw(canvas), _font(12), 10
    for i, tile in enumerate(tiles):
        canvas.paste(tile, (x, top))
        label = (names[i] if i < len(names) else f"channel {i}") + " channel"
        draw.multiline_text((x, 2), label + (f"\n{subtitles[i]}" if subtitles else ""), fill="#111827", font=font)
        x += tile.width + 16
    _colour_bar(draw, canvas, lut, x + 4, top, (low, high), font)
    return canvas


def _colour_bar(draw, canvas, lut: np.ndarray, x: int, top: int, limits: tuple[float, float], font) -> None:
    from PIL import Image

    low, high = limits
    bar = Image.fromarray(np.repeat(lut[::-1, None, :], 16, axis=1)).resize((16, PANEL_H))
    canvas.paste(bar, (x, top))
    for frac, value in ((0.0, high), (0.5, (low + high) / 2), (1.0, low)):
        y = top + round(frac * (PANEL_H - 1))
        draw.line((x + 16, y, x + 21, y), fill="#111827")
        draw.text((x + 24, y - 7), f"{value:+.2f}", fill="#111827", font=font)
    draw.multiline_text((x - 4, 2), "value\nfed to\nthe model", fill="#111827", font=font)
