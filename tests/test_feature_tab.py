"""Feature Extractor tab handlers without a browser: good inputs give shapes and plots, each bad input a
readable gr.Error, and the next good call still works."""

from __future__ import annotations

import json
import struct
import zlib

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from components import feature_tab as ft

WHISPER, W2V, VIT, CLIP = (c[1] for c in ft.CHOICES)
SPEECH = str(ft.SAMPLES / "speech_16k_mono.wav")
STEREO = str(ft.SAMPLES / "speech_44k_stereo.flac")
PHOTO = str(ft.SAMPLES / "grace_hopper.jpg")
DRAWING = str(ft.SAMPLES / "shapes_480x300.png")
# outputs: head, waves, spec, grid, channels, details, trace, result
HEAD, WAVES, SPEC, GRID, CHANNELS, DETAILS, TRACE, RESULT = range(8)


def _error(*args) -> str:
    with pytest.raises(gr.Error) as info:
        ft.extract_features(*args)
    return info.value.message


def _still_works():
    out = ft.extract_features(WHISPER, SPEECH, None)
    assert out[RESULT]["outputs"]["input_features"]["shape"] == [1, 80, 3000]


def _sine_wav(path, rate, seconds=1.0, channels=1, amp=0.5):
    t = np.arange(int(rate * seconds)) / rate
    x = (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(path, np.stack([x] * channels, axis=1) if channels > 1 else x, rate)
    return str(path)


# ------------------------------------------------------------------------------------ good inputs
def test_whisper_on_shipped_speech():
    out = ft.extract_features(WHISPER, SPEECH, None)
    result = out[RESULT]
    assert result["kind"] == "audio" and result["class"] == "WhisperFeatureExtractor"
    assert result["outputs"]["input_features"] == {"shape": [1, 80, 3000], "dtype": "float32"}
    assert "(1, 80, 3000)" in out[HEAD]
    assert out[WAVES]["visible"] and out[SPEC]["visible"] and not out[GRID]["visible"]
    spec = out[SPEC]["value"]
    assert spec.size[0] >= 1000 and spec.size[1] >= 300  # a real rendered figure
    assert "chunk_length" in out[DETAILS] and "sampling_rate" in out[DETAILS]  # config keys behind the steps
    assert "preprocessor_config.json" in out[TRACE]
    assert result["spectrogram"] == {"bins": 80, "frames": 3000, "frame_rate": 100.0, "valid_frames": 680}
    json.dumps(result)  # the API result is plain JSON


def test_stereo_44k_is_downmixed_and_resampled_and_stated():
    out = ft.extract_features(WHISPER, STEREO, None)
    notes = out[RESULT]["input"]["notes"]
    assert any("averaged to mono" in n for n in notes) and any("44100 Hz → 16000 Hz" in n for n in notes)
    assert "averaged to mono" in out[HEAD] and "resample" in out[DETAILS] and "resampled" in out[TRACE]


def test_wav2vec2_has_no_spectrogram():
    out = ft.extract_features(W2V, STEREO, None)
    shape = out[RESULT]["outputs"]["input_values"]["shape"]
    assert shape[0] == 1 and abs(shape[1] - 72777) <= 1
    assert out[WAVES]["visible"] and not out[SPEC]["visible"]
    assert "do_normalize" in out[DETAILS]


def test_ast_fbank_from_a_local_checkpoint(tmp_path):
    from transformers import ASTFeatureExtractor

    ASTFeatureExtractor().save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "audio-spectrogram-transformer"}')
    out = ft.extract_features(str(tmp_path), STEREO, None)
    assert out[RESULT]["class"] == "ASTFeatureExtractor"
    assert out[RESULT]["outputs"]["input_values"]["shape"] == [1, 1024, 128]
    assert out[SPEC]["visible"]
    assert out[RESULT]["spectrogram"]["bins"] == 128 and out[RESULT]["spectrogram"]["frames"] == 1024  # bins upwards


@pytest.mark.parametrize("checkpoint, image", [(VIT, PHOTO), (CLIP, PHOTO), (CLIP, DRAWING)])
def test_image_processors_on_shipped_images(checkpoint, image):
    out = ft.extract_features(checkpoint, None, image)
    result = out[RESULT]
    assert result["kind"] == "image"
    assert result["outputs"]["pixel_values"]["shape"] == [1, 3, 224, 224]
    assert "(1, 3, 224, 224)" in out[HEAD]
    assert out[GRID]["visible"] and out[CHANNELS]["visible"] and not out[WAVES]["visible"]
    names = [s["name"] for s in result["steps"]]
    assert "resize" in names and "normalize" in names
    assert ("center_crop" in names) == (checkpoint == CLIP)
    assert "image_mean" in out[HEAD] and "size" in out[DETAILS]
    json.dumps(result)


@pytest.mark.parametrize("rate", [8000, 96000])
def test_8k_and_96k_audio_resampled(tmp_path, rate):
    out = ft.extract_features(WHISPER, _sine_wav(tmp_path / "a.wav", rate), None)
    assert f"resampled {rate} Hz → 16000 Hz" in " ".join(out[RESULT]["input"]["notes"])
    assert out[RESULT]["outputs"]["input_features"]["shape"] == [1, 80, 3000]


def test_whisper_truncates_past_30_seconds(tmp_path):
    out = ft.extract_features(WHISPER, _sine_wav(tmp_path / "long.wav", 8000, seconds=40.0), None)
    result = out[RESULT]
    assert result["padding"]["truncated_samples"] == 160000 and result["padding"]["samples"] == 0
    assert result["spectrogram"]["valid_frames"] == 3000
    assert "truncated_samples = 160000" in out[DETAILS]


def test_silent_audio_runs_and_is_flagged(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000)
    out = ft.extract_features(WHISPER, str(path), None)
    assert out[RESULT]["input"]["silent"] and "silent" in out[HEAD]


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "animated"])
def test_unusual_images_are_converted_and_stated(tmp_path, mode):
    if mode == "animated":
        frames = [Image.new("RGB", (64, 48), c) for c in [(255, 0, 0), (0, 0, 255)]]
        path = tmp_path / "a.gif"
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
        expected = "first frame"
    elif mode == "CMYK":
        path = tmp_path / "c.jpg"
        Image.new("CMYK", (64, 48), (0, 255, 255, 0)).save(path)
        expected = "CMYK → RGB"
    else:
        path = tmp_path / "d.png"
        Image.fromarray(np.full((48, 64), 40000, np.uint16)).save(path)
        expected = "scaled to 8-bit"
    out = ft.extract_features(CLIP, None, str(path))
    assert expected in out[HEAD]
    assert out[RESULT]["outputs"]["pixel_values"]["shape"] == [1, 3, 224, 224]


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_vit_without_convert_rgb_gets_rgb_and_says_so(tmp_path, mode):
    path = tmp_path / f"{mode}.png"
    Image.open(DRAWING).convert(mode).save(path)
    out = ft.extract_features(VIT, None, str(path))
    assert out[RESULT]["outputs"]["pixel_values"]["shape"] == [1, 3, 224, 224]
    assert f"{mode} → RGB: this processor has no convert_rgb step" in out[HEAD]


def test_unnormalised_uint8_output_layoutlmv2(tmp_path):
    from transformers import LayoutLMv2ImageProcessor

    LayoutLMv2ImageProcessor(apply_ocr=False).save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "layoutlmv2"}')
    out = ft.extract_features(str(tmp_path), None, PHOTO)
    assert out[RESULT]["outputs"]["pixel_values"] == {"shape": [1, 3, 224, 224], "dtype": "uint8"}
    assert "rgb_to_bgr" in [s["name"] for s in out[RESULT]["steps"]] and out[CHANNELS]["visible"]


# ------------------------------------------------------------------------------------ bad inputs
def test_corrupt_audio_then_good_call(tmp_path):
    path = tmp_path / "junk.wav"
    path.write_bytes(b"RIFF not really a wave file" * 10)
    assert "'junk.wav' could not be decoded as audio" in _error(WHISPER, str(path), None)
    _still_works()


def test_image_given_to_audio_checkpoint():
    assert "could not be decoded as audio" in _error(WHISPER, PHOTO, None)
    _still_works()


def test_zero_length_audio(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    assert "empty (0 bytes)" in _error(WHISPER, str(tmp_path / "empty.wav"), None)
    sf.write(tmp_path / "nothing.wav", np.zeros(0, np.float32), 16000)
    assert "zero length" in _error(W2V, str(tmp_path / "nothing.wav"), None)
    _still_works()


def test_audio_longer_than_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(ft, "MAX_AUDIO_SECONDS", 7.0)  # the 6.8 s sample still fits
    message = _error(WHISPER, _sine_wav(tmp_path / "long.wav", 8000, seconds=8.0), None)
    assert "is 8.0 s long; the limit here is 7.0 s" in message
    _still_works()


def test_default_cap_is_five_minutes():
    assert ft.MAX_AUDIO_SECONDS == 300


def test_non_image_upload(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is text, not a picture")
    assert "'notes.png' is not an image Pillow can read" in _error(VIT, None, str(path))
    assert "is not an image" in _error(CLIP, None, SPEECH)
    _still_works()


def test_decompression_bomb(tmp_path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))
    message = _error(CLIP, None, str(path))
    assert "too large to decode safely" in message and "megapixels" in message
    out = ft.extract_features(CLIP, None, PHOTO)
    assert out[RESULT]["outputs"]["pixel_values"]["shape"] == [1, 3, 224, 224]


def test_missing_input_for_the_checkpoint_kind():
    assert "audio feature extractor: upload or record audio" in _error(WHISPER, None, PHOTO)
    assert "image processor: upload an image" in _error(VIT, SPEECH, None)


def test_bad_checkpoints(tmp_path):
    assert "Choose a checkpoint" in _error("  ", SPEECH, None)
    assert "does not exist" in _error(str(tmp_path / "nope"), SPEECH, None)
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    assert "preprocessor_config.json" in _error(str(tmp_path), SPEECH, None)
    _still_works()


# ------------------------------------------------------------------------------------ wiring
def test_cache_is_bounded_and_reused():
    first = ft.load_preprocessor(WHISPER)
    assert ft.load_preprocessor(WHISPER) is first
    assert ft._PREPROCESSORS.capacity <= 16


def test_api_endpoint_is_registered():
    from app import build_app

    demo = build_app()
    names = [fn.api_name for fn in demo.fns.values()]
    assert "extract_features" in names
