"""AutoFeatureExtractor / AutoImageProcessor: which class a checkpoint's preprocessing config names.

transformers 5.x order, every step in the trace:
  AutoFeatureExtractor: preprocessor_config.json `feature_extractor_type` → config.json
    `feature_extractor_type` → config.json `model_type` → the registry's feature extractor.
  AutoImageProcessor: `image_processor_type` (a legacy "…Fast" / "…Pil" suffix dropped) → legacy
    `feature_extractor_type` with FeatureExtractor → ImageProcessor → config.json → the registry.
processor_config.json's "feature_extractor" / "image_processor" entry, when present, is read first.
`auto_map` (code shipped in the checkpoint) is refused, never executed.
"""

from __future__ import annotations

from ..configuration import read_model_type, refuse_trust_remote_code
from ..errors import FeatureExtractionError, MissingFile, RemoteCodeRefused, UnsupportedModelType
from ..hub import Checkpoint
from ..registry import get_family, import_object
from ..trace import Trace
from .base import PREPROCESSOR_FILE

_PKG = "loaders.feature_extraction"
# transformers' class name → ours.
FEATURE_EXTRACTORS = {
    "Wav2Vec2FeatureExtractor": f"{_PKG}.wav2vec2:Wav2Vec2FeatureExtractor",
    "WhisperFeatureExtractor": f"{_PKG}.whisper:WhisperFeatureExtractor",
    "ASTFeatureExtractor": f"{_PKG}.ast:ASTFeatureExtractor",
}
IMAGE_PROCESSORS = {name: f"{_PKG}.vision:{name}" for name in (
    "ViTImageProcessor", "CLIPImageProcessor", "DeiTImageProcessor", "BeitImageProcessor", "ConvNextImageProcessor",
    "LayoutLMv2ImageProcessor")}
PROCESSOR_FILE = "processor_config.json"


class AutoFeatureExtractor:
    """`AutoFeatureExtractor.from_pretrained(checkpoint)` → our Wav2Vec2 / Whisper / AST feature extractor."""

    def __init__(self):
        raise TypeError("Use AutoFeatureExtractor.from_pretrained(checkpoint).")

    @staticmethod
    def from_pretrained(checkpoint, *, revision: str | None = None, token: str | None = None,
                        trust_remote_code: bool = False, **overrides):
        """Resolve the class from preprocessor_config.json / config.json; `overrides` replace settings."""
        trace = Trace("AutoFeatureExtractor")
        refuse_trust_remote_code(trust_remote_code)
        ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
        raw = read_preprocessor_config(ckpt, trace, "feature_extractor", "AutoFeatureExtractor")
        name = _feature_extractor_name(ckpt, raw, trace)
        if name not in FEATURE_EXTRACTORS:
            raise _unsupported(name, "AutoFeatureExtractor", FEATURE_EXTRACTORS)
        cls = import_object(FEATURE_EXTRACTORS[name])
        trace.add("registry", f"our {cls.__name__}", "class", name)
        return cls.from_dict(raw, trace, **overrides)


class AutoImageProcessor:
    """`AutoImageProcessor.from_pretrained(checkpoint)` → our ViT / CLIP / DeiT / BEiT / ConvNeXt / LayoutLMv2 one."""

    def __init__(self):
        raise TypeError("Use AutoImageProcessor.from_pretrained(checkpoint).")

    @staticmethod
    def from_pretrained(checkpoint, *, revision: str | None = None, token: str | None = None,
                        trust_remote_code: bool = False, backend: str | None = None, use_fast: bool | None = None,
                        **overrides):
        """Resolve the class like transformers 5; the numbers are those of its PIL backend (`backend="pil"`)."""
        trace = Trace("AutoImageProcessor")
        refuse_trust_remote_code(trust_remote_code)
        ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
        raw = read_preprocessor_config(ckpt, trace, "image_processor", "AutoImageProcessor")
        name = _image_processor_name(ckpt, raw, trace)
        if name not in IMAGE_PROCESSORS:
            raise _unsupported(name, "AutoImageProcessor", IMAGE_PROCESSORS)
        cls = import_object(IMAGE_PROCESSORS[name])
        trace.add("registry", f"our {cls.__name__}", "class", name)
        _note_backend(trace, backend, use_fast)
        return cls.from_dict(raw, trace, **overrides)


def load_preprocessor(checkpoint, **kwargs):
    """Whichever the checkpoint has: its feature extractor (audio) or else its image processor."""
    try:
        return AutoFeatureExtractor.from_pretrained(checkpoint, **kwargs)
    except _NotAudio:
        return AutoImageProcessor.from_pretrained(checkpoint, **kwargs)


# ---------------------------------------------------------------- files
def read_preprocessor_config(ckpt: Checkpoint, trace: Trace, entry: str, auto_class: str) -> dict:
    """processor_config.json's `entry` if it has one, else preprocessor_config.json (required)."""
    processor = ckpt.read_json(PROCESSOR_FILE) if ckpt.has(PROCESSOR_FILE) else None
    if processor and isinstance(processor.get(entry), dict):
        trace.add(PROCESSOR_FILE, f"holds the {entry.replace('_', ' ')} settings (read instead of "
                  f"{PREPROCESSOR_FILE})", entry, "{…}")
        raw = processor[entry]
    else:
        raw = ckpt.read_json(PREPROCESSOR_FILE, required=True, purpose=auto_class)
        trace.add(PREPROCESSOR_FILE, "read", "keys", sorted(raw))
    _refuse_auto_map(raw, auto_class)
    if raw.get("processor_class"):
        trace.add(PREPROCESSOR_FILE, "used by AutoProcessor only", "processor_class", raw["processor_class"])
    return raw


def _refuse_auto_map(raw: dict, auto_class: str) -> None:
    auto_map = raw.get("auto_map") or {}
    if not isinstance(auto_map, dict) or auto_class in auto_map or "AutoFeatureExtractor" in auto_map:
        raise RemoteCodeRefused(f"{PREPROCESSOR_FILE} asks to run the checkpoint's own Python code "
                                f"(auto_map: {auto_map}); Checkpoint Explorer never executes code from a checkpoint.")


# ---------------------------------------------------------------- class names
class _NotAudio(FeatureExtractionError):
    """The checkpoint's preprocessing is an image processor (load_preprocessor falls back to it)."""


def _feature_extractor_name(ckpt: Checkpoint, raw: dict, trace: Trace) -> str:
    name = raw.get("feature_extractor_type")
    if name:
        trace.add(PREPROCESSOR_FILE, "names the class", "feature_extractor_type", name)
        if name.replace("FeatureExtractor", "ImageProcessor") in IMAGE_PROCESSORS:
            raise _NotAudio(f"{name} is an image processor: transformers 5 loads it with AutoImageProcessor, "
                            "not AutoFeatureExtractor; use AutoImageProcessor.from_pretrained.")
        return name
    trace.add(PREPROCESSOR_FILE, "no feature_extractor_type → config.json decides", "feature_extractor_type", None)
    return _from_model_config(ckpt, trace, "feature_extractor_type", "feature_extractor")


def _image_processor_name(ckpt: Checkpoint, raw: dict, trace: Trace) -> str:
    name = raw.get("image_processor_type")
    if name:
        trace.add(PREPROCESSOR_FILE, "names the class", "image_processor_type", name)
        return _drop_backend_suffix(name, trace)
    legacy = raw.get("feature_extractor_type")
    if legacy:
        name = legacy.replace("FeatureExtractor", "ImageProcessor")
        trace.add(PREPROCESSOR_FILE, f"legacy name → {name} (FeatureExtractor → ImageProcessor)",
                  "feature_extractor_type", legacy)
        return name
    trace.add(PREPROCESSOR_FILE, "no image_processor_type nor feature_extractor_type → config.json decides")
    return _drop_backend_suffix(_from_model_config(ckpt, trace, "image_processor_type", "image_processor"), trace)


def _drop_backend_suffix(name: str, trace: Trace) -> str:
    for suffix, why in (("Fast", "legacy fast (torchvision) class"), ("Pil", "PIL backend class")):
        if name.endswith(suffix) and name[: -len(suffix)] in IMAGE_PROCESSORS:
            trace.add(PREPROCESSOR_FILE, f"{why} → {name[: -len(suffix)]}", "image_processor_type", name)
            return name[: -len(suffix)]
    return name


def _from_model_config(ckpt: Checkpoint, trace: Trace, key: str, component: str) -> str:
    """config.json's `key`, else its model_type → the registry's class name for `component`."""
    if not ckpt.has("config.json"):
        raise MissingFile(f"{ckpt.where} has no config.json and its {PREPROCESSOR_FILE} names no class "
                          f"({key}); add one of the two.")
    model_type = read_model_type(ckpt, trace)
    name = (ckpt.read_json("config.json") or {}).get(key)
    if name:
        trace.add("config.json", "names the class", key, name)
        return name
    family = get_family(model_type)
    name = getattr(family, component)
    if name is None:
        if component == "feature_extractor" and family.image_processor:
            raise _NotAudio(f"model_type {model_type!r} has an image processor ({family.image_processor}), not a "
                            "feature extractor; use AutoImageProcessor.from_pretrained.")
        raise UnsupportedModelType(f"model_type {model_type!r} has no {component.replace('_', ' ')}; "
                                   "this checkpoint takes another kind of input.")
    trace.add("registry", f"model_type {model_type!r} → {name}", "model_type", model_type)
    return name


def _unsupported(name: str, auto_class: str, table: dict) -> UnsupportedModelType:
    return UnsupportedModelType(f"{auto_class}: {name!r} is not supported here; supported: {', '.join(table)}.")


def _note_backend(trace: Trace, backend: str | None, use_fast: bool | None) -> None:
    if use_fast is not None and backend is None:
        backend = "torchvision" if use_fast else "pil"
        trace.add("call", f"use_fast={use_fast} is deprecated → backend={backend!r}", "use_fast", use_fast)
    if backend not in (None, "pil"):
        trace.warn("call", "only the PIL backend is implemented; numbers match transformers' backend='pil'",
                   "backend", backend)
    else:
        trace.add("defaults", "PIL/numpy pipeline (transformers' backend='pil'; its default torchvision backend "
                  "resizes slightly differently)", "backend", backend or "pil")
