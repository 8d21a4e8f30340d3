"""AutoFeatureExtractor / AutoImageProcessor resolution: the class transformers 5 would pick, and why.

Checkpoint folders are written in tmp dirs with the published preprocessing configs (REFERENCE §6).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import transformers

from loaders import AutoFeatureExtractor, AutoImageProcessor
from loaders.errors import (
    FeatureExtractionError,
    MalformedFile,
    MissingFile,
    RemoteCodeRefused,
    UnsupportedModelType,
)
from loaders.feature_extraction import load_preprocessor
from loaders.feature_extraction.auto import FEATURE_EXTRACTORS, IMAGE_PROCESSORS
from loaders.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

PUBLISHED = {
    "google/vit-base-patch16-224": (
        {"model_type": "vit", "architectures": ["ViTForImageClassification"]},
        {"do_normalize": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
         "size": 224},
        "ViTImageProcessor"),
    "openai/clip-vit-base-patch32": (
        {"model_type": "clip", "architectures": ["CLIPModel"]},
        {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
         "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
         "resample": 3, "size": 224},
        "CLIPImageProcessor"),
    "openai/whisper-tiny": (
        {"model_type": "whisper", "architectures": ["WhisperForConditionalGeneration"], "num_mel_bins": 80},
        {"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 80,
         "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right",
         "padding_value": 0.0, "processor_class": "WhisperProcessor", "return_attention_mask": False,
         "sampling_rate": 16000},
        "WhisperFeatureExtractor"),
    "ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition": (
        {"model_type": "wav2vec2", "architectures": ["Wav2Vec2ForEmotionRecognition"],
         "id2label": {str(i): name for i, name in enumerate(
             ["angry", "calm", "disgust", "fearful", "happy", "neutral", "sad", "surprised"])}},
        {"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
         "padding_side": "right", "padding_value": 0.0, "return_attention_mask": True, "sampling_rate": 16000},
        "Wav2Vec2FeatureExtractor"),
    "facebook/deit-base-distilled-patch16-224": (
        {"model_type": "deit"},
        {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
         "feature_extractor_type": "DeiTFeatureExtractor", "image_mean": [0.485, 0.456, 0.406],
         "image_std": [0.229, 0.224, 0.225], "resample": 3, "size": 256},
        "DeiTImageProcessor"),
    "microsoft/beit-base-patch16-224": (
        {"model_type": "beit"},
        {"crop_size": 224, "do_center_crop": False, "do_normalize": True, "do_resize": True,
         "feature_extractor_type": "BeitFeatureExtractor", "image_mean": [0.5, 0.5, 0.5],
         "image_std": [0.5, 0.5, 0.5], "reduce_labels": False, "resample": 2, "size": 224},
        "BeitImageProcessor"),
    "facebook/convnext-tiny-224": (
        {"model_type": "convnext"},
        {"crop_pct": 0.875, "do_normalize": True, "do_resize": True, "feature_extractor_type":
         "ConvNextFeatureExtractor", "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
         "resample": 3, "size": 224},
        "ConvNextImageProcessor"),
    "MIT/ast-finetuned-audioset-10-10-0.4593": (
        {"model_type": "audio-spectrogram-transformer"},
        {"do_normalize": True, "feature_extractor_type": "ASTFeatureExtractor", "feature_size": 1,
         "max_length": 1024, "mean": -4.2677393, "num_mel_bins": 128, "padding_side": "right",
         "padding_value": 0.0, "return_attention_mask": False, "sampling_rate": 16000, "std": 4.5689974},
        "ASTFeatureExtractor"),
    "microsoft/layoutlmv2-base-uncased": (
        {"model_type": "layoutlmv2", "architectures": ["LayoutLMv2Model"]},
        {"apply_ocr": True, "do_resize": True, "feature_extractor_type": "LayoutLMv2FeatureExtractor",
         "resample": 2, "size": 224},
        "LayoutLMv2ImageProcessor"),
}


def _folder(tmp_path: Path, name: str, config: dict | None, preprocessor: dict | None, **extra) -> str:
    folder = tmp_path / name.replace("/", "--")
    folder.mkdir(parents=True, exist_ok=True)
    files = {"config.json": config, "preprocessor_config.json": preprocessor, **extra}
    for file, data in files.items():
        if data is not None:
            (folder / file).write_text(data if isinstance(data, str) else json.dumps(data))
    return str(folder)


def _published(tmp_path, repo):
    config, pre, expected = PUBLISHED[repo]
    if repo == "openai/whisper-tiny":  # the real file also carries the 201×80 filter table
        pre = {**pre, "mel_filters": transformers.WhisperFeatureExtractor().mel_filters.tolist()}
    return _folder(tmp_path, repo, config, pre), expected


@pytest.mark.filterwarnings("ignore:At least one mel filter")  # transformers, about AST's 128 Kaldi bins
@pytest.mark.parametrize("repo", list(PUBLISHED))
def test_published_configs_resolve_like_transformers(tmp_path, repo):
    folder, expected = _published(tmp_path, repo)
    audio = expected.endswith("FeatureExtractor")
    ours = (AutoFeatureExtractor if audio else AutoImageProcessor).from_pretrained(folder)
    theirs = (transformers.AutoFeatureExtractor.from_pretrained(folder) if audio
              else transformers.AutoImageProcessor.from_pretrained(folder, backend="pil"))
    assert type(ours).__name__ == expected == type(theirs).__name__.removesuffix("Pil")
    assert ours.trace.steps and any(s.source == "registry" and s.value == expected for s in ours.trace)
    if audio:
        x = np.sin(np.linspace(0, 300, 16000)).astype(np.float32) * np.linspace(0, 1, 16000, dtype=np.float32)
        a, b = ours(x, sampling_rate=16000, return_tensors="np"), theirs(x, sampling_rate=16000, return_tensors="np")
        key = theirs.model_input_names[0]
        assert float(np.abs(a[key] - b[key]).max()) <= 1e-4
    else:
        image = (np.arange(300 * 400 * 3) % 251).reshape(300, 400, 3).astype(np.uint8)
        a = ours(image, return_tensors="np", **({"apply_ocr": False} if "Layout" in expected else {}))
        b = theirs(image, return_tensors="np", **({"apply_ocr": False} if "Layout" in expected else {}))
        assert a.pixel_values.shape == b.pixel_values.shape
        assert float(np.abs(a.pixel_values.astype(float) - b.pixel_values).max()) <= 1e-5


def test_tutorial_emotion_checkpoint(tmp_path):
    folder, _ = _published(tmp_path, "ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition")
    import loaders

    feature_extractor = loaders.AutoFeatureExtractor.from_pretrained(folder)
    assert type(feature_extractor).__name__ == "Wav2Vec2FeatureExtractor"
    assert feature_extractor.sampling_rate == 16000 and feature_extractor.return_attention_mask is True
    decided = [s for s in feature_extractor.trace if s.key == "feature_extractor_type"]
    assert decided and decided[0].value == "Wav2Vec2FeatureExtractor"
    out = feature_extractor([np.ones(100, np.float32), np.ones(50, np.float32)], sampling_rate=16000,
                            padding=True, return_tensors="pt")
    assert tuple(out.input_values.shape) == (2, 100) and out.attention_mask.sum().item() == 150


def test_model_type_decides_without_type_key(tmp_path):
    config, pre, _ = PUBLISHED["ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition"]
    pre = {k: v for k, v in pre.items() if k != "feature_extractor_type"}
    fe = AutoFeatureExtractor.from_pretrained(_folder(tmp_path, "emo", config, pre))
    assert type(fe).__name__ == "Wav2Vec2FeatureExtractor"
    steps = [(s.source, s.key, s.value) for s in fe.trace]
    assert ("config.json", "model_type", "wav2vec2") in steps
    assert any(src == "registry" and key == "model_type" for src, key, _ in steps)


def test_legacy_size_conversions_are_traced(tmp_path):
    vit = AutoImageProcessor.from_pretrained(_published(tmp_path, "google/vit-base-patch16-224")[0])
    clip = AutoImageProcessor.from_pretrained(_published(tmp_path, "openai/clip-vit-base-patch32")[0])
    assert vit.size == {"height": 224, "width": 224}
    assert clip.size == {"shortest_edge": 224} and clip.crop_size == {"height": 224, "width": 224}
    assert any("legacy size" in s.decision for s in vit.trace)
    assert any("legacy name" in s.decision and s.value == "CLIPFeatureExtractor" for s in clip.trace)
    assert any(s.key == "resample" and "bicubic" in s.decision for s in clip.trace)
    assert any(s.source == "defaults" and "do_convert_rgb" in s.value for s in clip.trace)
    whisper = AutoFeatureExtractor.from_pretrained(_published(tmp_path, "openai/whisper-tiny")[0])
    assert any(s.key == "mel_filters" and "recomputed" in s.decision for s in whisper.trace)


@pytest.mark.parametrize("type_name", ["ViTImageProcessorFast", "ViTImageProcessorPil", "ViTImageProcessor"])
def test_image_processor_type_suffixes(tmp_path, type_name):
    folder = _folder(tmp_path, type_name, None, {"image_processor_type": type_name})
    ip = AutoImageProcessor.from_pretrained(folder)
    assert type(ip).__name__ == "ViTImageProcessor"
    assert type(transformers.AutoImageProcessor.from_pretrained(folder, backend="pil")).__name__ == \
        "ViTImageProcessorPil"


def test_processor_config_entry_is_read_first(tmp_path):
    processor = {"image_processor": {"image_processor_type": "DeiTImageProcessor", "size": {"height": 64,
                                                                                           "width": 64}}}
    folder = _folder(tmp_path, "proc", {"model_type": "vit"}, {"image_processor_type": "ViTImageProcessor"},
                     **{"processor_config.json": processor})
    ip = AutoImageProcessor.from_pretrained(folder)
    assert type(ip).__name__ == "DeiTImageProcessor" and ip.size == {"height": 64, "width": 64}
    assert ip.trace.steps[1].source == "processor_config.json"


def test_feature_extractor_on_vision_checkpoint(tmp_path):
    folder, _ = _published(tmp_path, "openai/clip-vit-base-patch32")
    with pytest.raises(ValueError):  # transformers 5 refuses too
        transformers.AutoFeatureExtractor.from_pretrained(folder)
    with pytest.raises(FeatureExtractionError, match="AutoImageProcessor"):
        AutoFeatureExtractor.from_pretrained(folder)
    assert type(load_preprocessor(folder)).__name__ == "CLIPImageProcessor"
    vit, _ = _published(tmp_path, "google/vit-base-patch16-224")
    with pytest.raises(FeatureExtractionError, match="AutoImageProcessor"):
        AutoFeatureExtractor.from_pretrained(vit)


def test_remote_code_is_refused(tmp_path):
    pre = {"feature_extractor_type": "MyExtractor", "auto_map": {"AutoFeatureExtractor": "x.MyExtractor"}}
    with pytest.raises(RemoteCodeRefused):
        AutoFeatureExtractor.from_pretrained(_folder(tmp_path, "fe", {"model_type": "wav2vec2"}, pre))
    pre = {"image_processor_type": "MyProc", "auto_map": {"AutoImageProcessor": "x.MyProc"}}
    with pytest.raises(RemoteCodeRefused):
        AutoImageProcessor.from_pretrained(_folder(tmp_path, "ip", {"model_type": "vit"}, pre))
    config = {"model_type": "vit", "auto_map": {"AutoConfig": "x.Cfg"}}
    with pytest.raises(RemoteCodeRefused):
        AutoImageProcessor.from_pretrained(_folder(tmp_path, "cfg", config, {"size": 224}))
    with pytest.raises(RemoteCodeRefused):
        AutoImageProcessor.from_pretrained(_published(tmp_path, "google/vit-base-patch16-224")[0],
                                           trust_remote_code=True)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(MissingFile, match="preprocessor_config.json"):
        AutoFeatureExtractor.from_pretrained(_folder(tmp_path, "nopre", {"model_type": "whisper"}, None))
    with pytest.raises(MalformedFile, match="line"):
        AutoFeatureExtractor.from_pretrained(_folder(tmp_path, "bad", {"model_type": "whisper"}, "{oops"))
    with pytest.raises(MissingFile, match="config.json"):
        AutoImageProcessor.from_pretrained(_folder(tmp_path, "notype", None, {"size": 224}))
    with pytest.raises(UnsupportedModelType, match="model_type"):
        AutoImageProcessor.from_pretrained(_folder(tmp_path, "nomt", {"hidden_size": 3}, {"size": 224}))
    with pytest.raises(UnsupportedModelType, match="supported"):
        AutoFeatureExtractor.from_pretrained(_folder(tmp_path, "unk", None, {"feature_extractor_type": "FooFE"}))
    with pytest.raises(UnsupportedModelType, match="no feature extractor"):
        AutoFeatureExtractor.from_pretrained(_folder(tmp_path, "bert", {"model_type": "bert"}, {}))


def test_overrides_and_bad_values(tmp_path):
    folder, _ = _published(tmp_path, "microsoft/layoutlmv2-base-uncased")
    ip = AutoImageProcessor.from_pretrained(folder, apply_ocr=False)
    assert ip.apply_ocr is False and any(s.source == "call" and s.key == "apply_ocr" for s in ip.trace)
    assert ip(np.zeros((50, 60, 3), np.uint8), return_tensors="np").pixel_values.shape == (1, 3, 224, 224)
    with pytest.raises(FeatureExtractionError, match="not a setting"):
        AutoImageProcessor.from_pretrained(folder, colour=True)
    with pytest.raises(FeatureExtractionError, match="Pillow"):
        AutoImageProcessor.from_pretrained(_folder(tmp_path, "res", {"model_type": "vit"}, {"resample": 42}))
    with pytest.raises(FeatureExtractionError, match="size"):
        AutoImageProcessor.from_pretrained(_folder(tmp_path, "sz", {"model_type": "vit"}, {"size": {"w": 3}}))


def test_every_registry_entry_has_our_class():
    for family in REGISTRY.values():
        if family.feature_extractor:
            assert family.feature_extractor in FEATURE_EXTRACTORS
        if family.image_processor:
            assert family.image_processor in IMAGE_PROCESSORS


def test_loading_does_not_import_torch(tmp_path):
    folder, _ = _published(tmp_path, "openai/whisper-tiny")
    clip, _ = _published(tmp_path, "openai/clip-vit-base-patch32")
    code = ("import sys, loaders; from loaders import AutoFeatureExtractor, AutoImageProcessor; "
            "assert 'numpy' not in sys.modules; "
            f"AutoFeatureExtractor.from_pretrained({folder!r}); AutoImageProcessor.from_pretrained({clip!r}); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
