"""Decoding user media before preprocessing: audio files → float32 mono at the extractor's rate,
image files → a Pillow image in a mode the image processors take.

transformers leaves decoding to the caller; the UI needs it done safely and said out loud. Every
conversion (downmix, resampling, EXIF rotation, CMYK → RGB, 16 → 8 bit, first frame of an
animation) is stated in the record's `notes` and its `trace`; anything unusable raises InputError
with one line saying what was wrong and what to do. numpy, soundfile, soxr and Pillow are imported
inside the functions so that `import loaders` stays light.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .trace import Trace

MAX_AUDIO_SECONDS = 300.0  # 5 minutes: longer uploads are refused before decoding
SILENCE_PEAK = 1e-4  # peak amplitude below this (−80 dBFS) counts as silent
AUDIO_FORMATS = "WAV, FLAC, OGG/Vorbis, Opus or MP3"
IMAGE_FORMATS = "PNG, JPEG, WebP, GIF, BMP or TIFF"
# Modes the image processors take as they are (transformers' own conversions then apply).
KEEP_MODES = ("RGB", "RGBA", "L", "P")


@dataclass
class AudioRecord:
    """Decoded audio: `waveform` is float32 mono at `sampling_rate`; `original` is what the file held."""

    waveform: Any  # np.ndarray (samples,)
    sampling_rate: int
    original: Any  # np.ndarray (samples, channels), float32 in [-1, 1], at original_rate
    original_rate: int
    channels: int
    file_format: str  # e.g. "WAV PCM_16"
    silent: bool = False
    notes: list[str] = field(default_factory=list)
    trace: Trace = field(default_factory=lambda: Trace("Audio input"))

    @property
    def duration(self) -> float:
        return len(self.waveform) / self.sampling_rate

    @property
    def resampled(self) -> bool:
        return self.original_rate != self.sampling_rate


@dataclass
class ImageRecord:
    """A decoded image ready for an image processor, with the conversions that produced it."""

    image: Any  # PIL.Image.Image, mode in KEEP_MODES
    original_mode: str
    original_size: tuple[int, int]  # (width, height) as stored in the file
    file_format: str
    frames: int = 1
    notes: list[str] = field(default_factory=list)
    trace: Trace = field(default_factory=lambda: Trace("Image input"))


# ---------------------------------------------------------------------------------------- audio
def load_audio(source, sampling_rate: int | None = None, *, max_seconds: float = MAX_AUDIO_SECONDS,
               trace: Trace | None = None) -> AudioRecord:
    """Decode `source` (path, bytes, or `(rate, array)` as gr.Audio gives) to float32 mono.

    Stereo is averaged to mono and the signal resampled to `sampling_rate` (soxr, high quality) when
    given; both are stated. Empty, corrupt, non-audio and over-long inputs raise InputError; silent
    audio is accepted and flagged.
    """
    trace = trace if trace is not None else Trace("Audio input")
    if isinstance(source, tuple):
        rate, data, fmt = _from_array(source)
    else:
        rate, data, fmt = _decode_file(source, max_seconds)
    trace.add("input", f"decoded: {data.shape[1]} channel(s), {data.shape[0]} samples", "format", fmt)
    _check_length(data.shape[0], rate, max_seconds)
    record = AudioRecord(waveform=None, sampling_rate=rate, original=data, original_rate=rate,
                         channels=data.shape[1], file_format=fmt, trace=trace)
    mono = _downmix(data, record)
    record.waveform = _resample(mono, rate, sampling_rate, record) if sampling_rate else mono
    record.sampling_rate = sampling_rate or rate
    _flag_silence(record)
    return record


def _decode_file(source, max_seconds: float):
    import numpy as np
    import soundfile as sf

    name, handle = _open_bytes(source)
    try:
        with sf.SoundFile(handle) as f:
            fmt = f"{f.format} {f.subtype}"
            rate, frames = f.samplerate, f.frames
            if rate > 0 and frames > 0:
                _check_length(frames, rate, max_seconds)  # before reading a huge file into memory
            data = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as e:
        raise InputError(f"{name} could not be decoded as audio ({_reason(e)}); upload {AUDIO_FORMATS}.") from e
    if not np.isfinite(data).all():
        raise InputError(f"{name} contains NaN or infinite samples; re-export it as 16-bit PCM WAV.")
    return rate, data, fmt


def _open_bytes(source, what: str = "audio",
                empty_hint: str = "record or upload a file with sound in it") -> tuple[str, Any]:
    """A display name and a file-like object; missing and zero-byte files raise InputError."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        if not raw:
            raise InputError(f"The uploaded {what} is empty (0 bytes); {empty_hint}.")
        return f"The uploaded {what}", io.BytesIO(raw)
    path = Path(os.fspath(source))
    if not path.is_file():
        raise InputError(f"{what.capitalize()} file {path.name!r} does not exist; upload it again.")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name!r} is empty (0 bytes); {empty_hint}.")
    return repr(path.name), path


def _from_array(source: tuple):
    """`(rate, data)` with int or float samples, (samples,) or (samples, channels)."""
    import numpy as np

    rate, data = source
    data = np.asarray(data)
    if not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise InputError(f"Sampling rate {rate!r} is not a positive integer; pass (rate, samples).")
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.dtype.kind not in "iuf":
        raise InputError(f"Audio array of shape {data.shape} and dtype {data.dtype} is not (samples, channels) numbers.")
    if data.dtype.kind in "iu":  # gr.Audio(type="numpy") gives int16; scale to [-1, 1]
        info = np.iinfo(data.dtype)
        fmt = f"array {data.dtype}"
        data = (data.astype(np.float32) - (info.max + 1 + info.min) / 2) / ((info.max - info.min + 1) / 2)
    else:
        fmt = f"array {data.dtype}"
        data = data.astype(np.float32)
    if not np.isfinite(data).all():
        raise InputError("The audio array contains NaN or infinite samples.")
    return int(rate), data, fmt


def _check_length(frames: int, rate: int, max_seconds: float) -> None:
    if frames <= 0:
        raise InputError("The audio has no samples (zero length); record or upload a file with sound in it.")
    seconds = frames / rate
    if seconds > max_seconds:
        raise InputError(f"The audio is {_clock(seconds)} long; the limit here is {_clock(max_seconds)}. "
                         "Trim it and upload again.")


def _downmix(data, record: AudioRecord):
    if data.shape[1] == 1:
        return data[:, 0]
    note = f"{data.shape[1]} channels averaged to mono (the extractors take one channel)"
    record.notes.append(note)
    record.trace.warn("input", note, "channels", data.shape[1])
    return data.mean(axis=1, dtype="float32")


def _resample(mono, rate: int, target: int, record: AudioRecord):
    if rate == target:
        record.trace.add("input", "already at the extractor's rate, no resampling", "sampling_rate", rate)
        return mono
    import soxr

    note = f"resampled {rate} Hz → {target} Hz (soxr, high quality)"
    record.notes.append(note)
    record.trace.warn("input", note + "; transformers expects the caller to do this", "sampling_rate", rate)
    return soxr.resample(mono, rate, target, quality="HQ").astype("float32", copy=False)


def _flag_silence(record: AudioRecord) -> None:
    import numpy as np

    peak = float(np.abs(record.waveform).max()) if record.waveform.size else 0.0
    if peak < SILENCE_PEAK:
        record.silent = True
        what = "all samples are 0" if peak == 0 else f"peak {peak:.1e}, below −80 dBFS"
        note = f"the audio is silent ({what}); features will be flat"
        record.notes.append(note)
        record.trace.warn("input", note, "peak", peak)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    if not minutes:
        return f"{secs:.1f} s"
    return f"{int(minutes)} min" + (f" {secs:.1f} s" if secs >= 0.05 else "")


def _reason(e: Exception) -> str:
    # libsndfile's message starts with "Error opening '<server path>': "; keep only the cause.
    text = getattr(e, "error_string", None) or str(e).strip()
    text = text.splitlines()[0] if text else type(e).__name__
    return text if len(text) <= 100 else text[:97] + "..."


# ---------------------------------------------------------------------------------------- images
def load_image(source, *, max_pixels: int | None = None, rgb: bool = False, trace: Trace | None = None) -> ImageRecord:
    """Open `source` (path, bytes or PIL image) for an image processor, stating each conversion.

    Non-images, truncated files and images over `max_pixels` (default Pillow's MAX_IMAGE_PIXELS,
    its decompression-bomb limit) raise InputError. Animated images give their first frame; EXIF
    orientation is applied; CMYK, 16-bit and other modes become RGB, RGBA or L. `rgb=True` also
    turns L, P and RGBA into RGB, for processors without a convert_rgb step of their own.
    """
    from PIL import Image

    trace = trace if trace is not None else Trace("Image input")
    limit = max_pixels if max_pixels is not None else Image.MAX_IMAGE_PIXELS
    image, name = _open_image(source, limit)
    record = ImageRecord(image=image, original_mode=image.mode, original_size=image.size,
                         file_format=image.format or "in-memory image",
                         frames=getattr(image, "n_frames", 1), trace=trace)
    trace.add("input", f"{name}: {image.width}×{image.height} pixels, mode {image.mode}", "format", record.file_format)
    _first_frame(record)
    _load_pixels(record, name)
    _apply_orientation(record)
    _convert_mode(record)
    if rgb and record.image.mode != "RGB":
        _force_rgb(record)
    return record


def _open_image(source, limit: int | None):
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, Image.Image):
        _check_pixels(source.size, limit)
        return source, "image"
    name, handle = _open_bytes(source, "image", "upload it again")
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1× and 2× its limit and raises above; both mean "refuse" here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle)  # reads the header only
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise InputError(f"{name} is too large to decode safely ({_reason(e)}); "
                         "Pillow's decompression-bomb limit is "
                         f"{Image.MAX_IMAGE_PIXELS / 1e6:.1f} megapixels — resize it first.") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise InputError(f"{name} is not an image Pillow can read; upload {IMAGE_FORMATS}.") from e
    _check_pixels(image.size, limit, name)
    return image, name


def _check_pixels(size: tuple[int, int], limit: int | None, name: str = "The image") -> None:
    width, height = size
    if limit is not None and width * height > limit:
        raise InputError(f"{name} is {width}×{height} = {width * height / 1e6:.1f} megapixels, over the "
                         f"decompression-bomb limit of {limit / 1e6:.1f} megapixels; resize it first.")
    if width == 0 or height == 0:
        raise InputError(f"{name} has no pixels ({width}×{height}).")


def _first_frame(record: ImageRecord) -> None:
    if record.frames > 1:
        record.image.seek(0)
        note = f"animated image with {record.frames} frames → first frame used"
        record.notes.append(note)
        record.trace.warn("input", note, "n_frames", record.frames)


def _load_pixels(record: ImageRecord, name: str) -> None:
    try:
        record.image.load()
    except (OSError, ValueError, SyntaxError) as e:
        raise InputError(f"{name} is damaged ({_reason(e)}); upload an intact {IMAGE_FORMATS} file.") from e


def _apply_orientation(record: ImageRecord) -> None:
    from PIL import ImageOps

    orientation = record.image.getexif().get(0x0112, 1)  # EXIF Orientation tag
    if orientation in (None, 1):
        return
    record.image = ImageOps.exif_transpose(record.image)
    note = f"EXIF orientation {orientation} applied → {record.image.width}×{record.image.height}"
    record.notes.append(note)
    record.trace.warn("input", note + " (transformers does not rotate; the camera's intent is shown)",
                      "Orientation", orientation)


def _convert_mode(record: ImageRecord) -> None:
    image, mode = record.image, record.image.mode
    if mode in KEEP_MODES:
        return
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        converted, how = _to_8bit(image), f"{mode} (high bit depth) scaled to 8-bit L"
        how += "; Pillow's own convert would clip every value above 255 to white"
    elif mode in ("LA", "PA"):
        converted, how = image.convert("RGBA"), f"{mode} → RGBA"
    elif mode == "1":
        converted, how = image.convert("L"), "1-bit → L (0/255)"
    else:  # CMYK, YCbCr, LAB, HSV, RGBX, RGBa ...
        converted, how = image.convert("RGB"), f"{mode} → RGB (Pillow's conversion)"
    record.image = converted
    record.notes.append(how)
    record.trace.warn("input", how, "mode", mode)


def _force_rgb(record: ImageRecord) -> None:
    mode = record.image.mode
    record.image = record.image.convert("RGB")
    note = (f"{mode} → RGB: this processor has no convert_rgb step, and given a {mode} image transformers "
            "stops with a channel-count error")
    record.notes.append(note)
    record.trace.warn("input", note, "mode", mode)


def _to_8bit(image):
    """16-bit or 32-bit grey → 8-bit L, scaling the type's full range (not the image's) to 0–255."""
    import numpy as np
    from PIL import Image

    array = np.asarray(image)
    if image.mode == "F":
        scaled = np.clip(array, 0.0, 1.0) * 255.0 if array.max() <= 1.0 else np.clip(array, 0, 255)
    elif image.mode == "I" and array.max() > 65535:
        scaled = array / 2**24  # 32-bit integer data: keep the top 8 bits
    else:
        scaled = array / 257.0  # 0–65535 → 0–255
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")
