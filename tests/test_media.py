"""loaders.media: every bad input is a clear InputError, every conversion is stated."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from loaders.errors import InputError
from loaders.media import MAX_AUDIO_SECONDS, load_audio, load_image

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"


def _sine(rate: int, seconds: float, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _wav(path: Path, data: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    sf.write(path, data, rate, subtype=subtype)
    return path


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


# ------------------------------------------------------------------------------------------ audio
def test_shipped_samples_decode():
    mono = load_audio(SAMPLES / "speech_16k_mono.wav", 16000)
    assert mono.waveform.dtype == np.float32 and mono.waveform.ndim == 1
    assert mono.notes == [] and not mono.resampled and 6 < mono.duration < 8
    stereo = load_audio(SAMPLES / "speech_44k_stereo.flac", 16000)
    assert stereo.channels == 2 and stereo.original_rate == 44100 and stereo.sampling_rate == 16000
    assert any("averaged to mono" in n for n in stereo.notes)
    assert any("44100 Hz → 16000 Hz" in n for n in stereo.notes)
    assert abs(len(stereo.waveform) - round(stereo.original.shape[0] * 16000 / 44100)) <= 1


@pytest.mark.parametrize("rate", [8000, 96000])
def test_resampling_is_stated_and_keeps_pitch(tmp_path, rate):
    record = load_audio(_wav(tmp_path / "a.wav", _sine(rate, 1.0), rate), 16000)
    assert record.sampling_rate == 16000 and record.original_rate == rate
    assert len(record.waveform) == 16000
    assert f"resampled {rate} Hz → 16000 Hz" in record.notes[0]
    assert any(s.key == "sampling_rate" and s.level == "warn" for s in record.trace)
    assert abs(_peak_hz(record.waveform, 16000) - 440.0) < 2.0


def test_no_target_rate_keeps_original(tmp_path):
    record = load_audio(_wav(tmp_path / "a.wav", _sine(22050, 0.5), 22050))
    assert record.sampling_rate == 22050 and not record.resampled and record.notes == []


def test_stereo_downmix_is_the_channel_mean(tmp_path):
    left = _sine(16000, 0.5)
    data = np.stack([left, np.zeros_like(left)], axis=1)
    record = load_audio(_wav(tmp_path / "s.wav", data, 16000, "FLOAT"), 16000)
    np.testing.assert_allclose(record.waveform, left / 2, atol=1e-7)
    assert record.channels == 2 and record.original.shape == (8000, 2)
    assert "2 channels averaged to mono" in record.notes[0]


@pytest.mark.parametrize("content", [b"this is not audio at all, just text\n" * 20,
                                     b"RIFF\x24\x00\x00\x00WAVEfmt ", bytes(range(256)) * 8])
def test_corrupt_or_non_audio_file(tmp_path, content):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"'broken.wav' could not be decoded as audio .*upload WAV, FLAC"):
        load_audio(path, 16000)


def test_image_given_as_audio():
    with pytest.raises(InputError, match="could not be decoded as audio") as info:
        load_audio(SAMPLES / "grace_hopper.jpg", 16000)
    assert str(SAMPLES) not in str(info.value)  # no server paths in messages


def test_zero_byte_file_and_bytes(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        load_audio(tmp_path / "empty.wav", 16000)
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        load_audio(b"", 16000)


def test_wav_with_zero_samples(tmp_path):
    path = _wav(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(InputError, match="zero length"):
        load_audio(path, 16000)
    with pytest.raises(InputError, match="zero length"):
        load_audio((16000, np.zeros(0, np.int16)), 16000)


def test_silent_audio_is_accepted_and_flagged(tmp_path):
    record = load_audio(_wav(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000), 16000)
    assert record.silent and "silent (all samples are 0)" in record.notes[0]
    near = load_audio(_wav(tmp_path / "near.wav", _sine(16000, 0.2, amp=3e-5), 16000, "FLOAT"), 16000)
    assert near.silent and "below −80 dBFS" in near.notes[0]
    loud = load_audio(_wav(tmp_path / "loud.wav", _sine(16000, 0.2), 16000), 16000)
    assert not loud.silent


def test_longer_than_cap(tmp_path):
    path = _wav(tmp_path / "long.wav", np.zeros(int(1000 * (MAX_AUDIO_SECONDS + 1)), np.int16), 1000)
    with pytest.raises(InputError, match=r"is 5 min 1.0 s long; the limit here is 5 min\. Trim it"):
        load_audio(path, 16000)
    short = _wav(tmp_path / "short.wav", _sine(16000, 2.0), 16000)
    with pytest.raises(InputError, match=r"is 2.0 s long; the limit here is 1.5 s"):
        load_audio(short, 16000, max_seconds=1.5)
    assert load_audio(short, 16000, max_seconds=2.0).duration == 2.0


def test_array_input_from_gradio_numpy(tmp_path):
    ints = (np.array([0, 16384, -32768, 32767], np.int16))
    record = load_audio((16000, ints), 16000)
    np.testing.assert_allclose(record.waveform, [0, 0.5, -1.0, 32767 / 32768], atol=1e-6)
    with pytest.raises(InputError, match="not a positive integer"):
        load_audio((0, ints), 16000)
    with pytest.raises(InputError, match="NaN"):
        load_audio((16000, np.array([0.0, np.nan], np.float32)), 16000)


def test_nan_samples_in_float_wav(tmp_path):
    data = _sine(16000, 0.1)
    data[10] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        load_audio(_wav(tmp_path / "nan.wav", data, 16000, "FLOAT"), 16000)


@pytest.mark.parametrize("fmt, subtype", [("OGG", "VORBIS"), ("FLAC", "PCM_16"), ("MP3", "MPEG_LAYER_III")])
def test_other_formats_decode_from_bytes(fmt, subtype):
    buffer = io.BytesIO()
    sf.write(buffer, _sine(16000, 1.0), 16000, format=fmt, subtype=subtype)
    record = load_audio(buffer.getvalue(), 16000)
    assert record.file_format.startswith(fmt) and abs(record.duration - 1.0) < 0.1
    assert abs(_peak_hz(record.waveform, 16000) - 440.0) < 3.0


# ------------------------------------------------------------------------------------------ images
def test_shipped_images():
    photo = load_image(SAMPLES / "grace_hopper.jpg")
    assert photo.image.mode == "RGB" and photo.image.size == (512, 600) and photo.notes == []
    drawing = load_image(SAMPLES / "shapes_480x300.png")
    assert drawing.image.size == (480, 300) and drawing.file_format == "PNG"


@pytest.mark.parametrize("content", [b"hello, I am a text file\n", b"\x89PNG\r\n\x1a\nnot really"])
def test_non_image_upload(tmp_path, content):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"'upload.png' is not an image Pillow can read; upload PNG, JPEG"):
        load_image(path)


def test_audio_given_as_image():
    with pytest.raises(InputError, match="not an image Pillow can read"):
        load_image(SAMPLES / "speech_16k_mono.wav")


def test_zero_byte_image(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        load_image(tmp_path / "e.png")


def test_truncated_image(tmp_path):
    full = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(full, "PNG")
    (tmp_path / "cut.png").write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    with pytest.raises(InputError, match="'cut.png' is damaged"):
        load_image(tmp_path / "cut.png")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height (no pixel data): what a decompression bomb looks like to open()."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [10_000, 20_000])  # 100 MP: Pillow warns; 400 MP: Pillow raises
def test_decompression_bomb(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(InputError, match=r"'bomb.png' is too large to decode safely .*89.5 megapixels"):
        load_image(path)


def test_configurable_pixel_limit(tmp_path):
    Image.new("RGB", (100, 50)).save(tmp_path / "a.png")
    with pytest.raises(InputError, match=r"100×50 = 0.0 megapixels, over the decompression-bomb limit"):
        load_image(tmp_path / "a.png", max_pixels=4999)
    assert load_image(tmp_path / "a.png", max_pixels=5000).image.size == (100, 50)


def test_cmyk_becomes_rgb(tmp_path):
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")  # pure red in CMYK
    record = load_image(tmp_path / "cmyk.jpg")
    assert record.original_mode == "CMYK" and record.image.mode == "RGB"
    assert "CMYK → RGB" in record.notes[0]
    r, g, b = record.image.getpixel((20, 15))
    assert r > 200 and g < 60 and b < 60


def test_16bit_is_scaled_not_clipped(tmp_path):
    ramp = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    record = load_image(tmp_path / "deep.png")
    assert record.original_mode.startswith("I") and record.image.mode == "L"
    assert np.asarray(record.image).tolist() == [[0, 1, 128, 255]]
    assert "scaled to 8-bit" in record.notes[0] and "clip" in record.notes[0]


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 10), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    record = load_image(tmp_path / "anim.gif")
    assert record.frames == 3 and "first frame" in record.notes[0]
    r, g, b = record.image.convert("RGB").getpixel((5, 5))
    assert r > 200 and g < 50 and b < 50


def test_exif_orientation_applied(tmp_path):
    image = Image.new("RGB", (60, 20), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    image.save(tmp_path / "phone.jpg", exif=exif)
    record = load_image(tmp_path / "phone.jpg")
    assert record.original_size == (60, 20) and record.image.size == (20, 60)
    assert "EXIF orientation 6 applied" in record.notes[0]


@pytest.mark.parametrize("mode, expected", [("RGBA", "RGBA"), ("L", "L"), ("P", "P"), ("LA", "RGBA"), ("1", "L")])
def test_modes(tmp_path, mode, expected):
    Image.new(mode, (8, 8)).save(tmp_path / "m.png")
    record = load_image(tmp_path / "m.png")
    assert record.image.mode == expected
    assert (record.notes == []) == (mode == expected)


def test_pil_image_and_bytes_inputs():
    image = Image.new("RGB", (7, 5))
    assert load_image(image).image is image
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert load_image(buffer.getvalue()).image.size == (7, 5)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "LA"])
def test_rgb_for_processors_without_convert_rgb(tmp_path, mode):
    Image.new(mode, (8, 8)).save(tmp_path / "m.png")
    record = load_image(tmp_path / "m.png", rgb=True)
    assert record.image.mode == "RGB"
    assert "no convert_rgb step" in record.notes[-1]
    assert load_image(SAMPLES / "grace_hopper.jpg", rgb=True).notes == []  # RGB stays as it is
