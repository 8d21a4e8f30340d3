"""The image processor base: a pipeline of pure steps configured by preprocessor_config.json.

    convert_rgb → resize → center_crop → rescale → normalize → channels_first

Each step runs only if its `do_*` key is true; `steps(image)` returns every intermediate result
with the keys behind it, `__call__` returns transformers' BatchFeature(pixel_values).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..batch import BatchFeature
from ..errors import FeatureExtractionError, InputError
from ..trace import Trace
from . import image_ops as ops
from .base import Preprocessor
from .image_ops import StepResult

NOT_SETTINGS = {"return_tensors", "data_format", "input_data_format", "device", "disable_grouping"}


def square(n: int):
    """A dataclass default of {"height": n, "width": n}."""
    return field(default_factory=lambda: {"height": n, "width": n})


@dataclass
class ImageProcessorConfig:
    """Keys every image processor reads (transformers' ImagesKwargs); families change the defaults."""

    do_convert_rgb: bool | None = None
    do_resize: bool | None = None
    size: Any = None  # {"height", "width"} | {"shortest_edge"} | …; legacy int / [h, w] converted
    default_to_square: bool = True  # how a legacy int `size` is read
    resample: int | None = None  # Pillow code: 2 bilinear, 3 bicubic
    do_center_crop: bool | None = None
    crop_size: Any = None
    do_rescale: bool | None = None
    rescale_factor: float | None = 1 / 255
    do_normalize: bool | None = None
    image_mean: Any = None
    image_std: Any = None


class ImageProcessor(Preprocessor):
    """`ip(images, return_tensors="pt")` → BatchFeature(pixel_values (B, C, H, W)); `ip.steps(image)` for the UI."""

    config_class = ImageProcessorConfig
    model_input_names = ["pixel_values"]
    type_key = "image_processor_type"

    def __init__(self, config, trace: Trace | None = None):
        super().__init__(config, trace)
        self.config = self._standardize(config, self.trace)

    # ---------------------------------------------------------------- settings
    def _standardize(self, config, trace: Trace | None):
        """Legacy `size: 224` / `crop_size: 224` → dicts, resample code checked, mean/std as tuples."""
        changes: dict[str, Any] = {}
        if config.size is not None:
            changes["size"] = ops.size_dict(config.size, config.default_to_square)
            if trace is not None and not isinstance(config.size, dict):
                rule = "default_to_square" if config.default_to_square else "default_to_square = false: shortest edge"
                trace.add("settings", f"legacy size → {changes['size']} ({rule})", "size", config.size)
        if config.crop_size is not None:
            changes["crop_size"] = ops.size_dict(config.crop_size, True, "crop_size")
            if trace is not None and not isinstance(config.crop_size, dict):
                trace.add("settings", f"legacy crop_size → {changes['crop_size']}", "crop_size",
                          config.crop_size)
        if config.resample is not None:
            code = getattr(config.resample, "value", config.resample)
            if code not in ops.RESAMPLE_NAMES:
                raise FeatureExtractionError(f"resample={config.resample!r} is not a Pillow filter code; use one of "
                                             f"{ops.RESAMPLE_NAMES}.")
            changes["resample"] = int(code)
            if trace is not None:
                trace.add("settings", f"Pillow filter: {ops.RESAMPLE_NAMES[int(code)]}", "resample", code)
        for key in ("image_mean", "image_std"):
            if isinstance(getattr(config, key), list):
                changes[key] = tuple(getattr(config, key))
        return dataclasses.replace(config, **changes)

    def settings(self, **overrides):
        """The config with call-time overrides applied (e.g. `do_resize=False`), standardised."""
        if not overrides:
            return self.config
        known = {f.name for f in dataclasses.fields(self.config)}
        unknown = sorted(set(overrides) - known - NOT_SETTINGS)
        if unknown:
            raise FeatureExtractionError(f"{type(self).__name__} has no setting {', '.join(unknown)}; "
                                         f"known: {', '.join(sorted(known))}.")
        given = {k: v for k, v in overrides.items() if k in known and v is not None}
        return self._standardize(dataclasses.replace(self.config, **given), None)

    # ---------------------------------------------------------------- calls
    def __call__(self, images, return_tensors: str | None = None, **overrides) -> BatchFeature:
        """One image or a list (PIL, numpy, torch) → BatchFeature(pixel_values) like transformers."""
        s = self.settings(**overrides)
        pixel_values = [self._run(image, s, None) for image in flat_images(images)]
        return BatchFeature(pixel_values=pixel_values).convert_to_tensors(return_tensors)

    preprocess = __call__

    def steps(self, image, **overrides) -> list[StepResult]:
        """Every intermediate result for ONE image: input, convert_rgb, resize, …, channels_first."""
        images = flat_images(image)
        if len(images) != 1:
            raise InputError("steps() takes one image, not a batch.")
        record: list[StepResult] = []
        self._run(images[0], self.settings(**overrides), record)
        return record

    def _run(self, image, s, record: list[StepResult] | None) -> np.ndarray:
        def add(name: str, keys: tuple[str, ...], detail: str, out) -> None:
            if record is not None:
                record.append(StepResult(name, keys, detail, out, tuple(np.shape(out))))

        x = ops.prepare(image, bool(s.do_convert_rgb))  # (H, W, C) array, or a PIL RGB image until resized
        if record is not None:
            mode = getattr(image, "mode", None)  # a PIL image is shown as given
            h, w = ops.hw(x)
            shape = (image.height, image.width, len(image.getbands())) if mode else x.shape
            detail = f"{type(image).__name__}" + (f", mode {mode}" if mode else "") + f", {w}×{h}"
            record.append(StepResult("input", (), detail, image if mode else x, tuple(shape)))
            if s.do_convert_rgb:
                add("convert_rgb", ("do_convert_rgb",), "to RGB; transparency composited onto white",
                    ops.as_array(x))
        if not s.do_resize:
            x = ops.as_array(x)
        x = self._pipeline(x, s, add)
        out = ops.channels_first(x)
        add("channels_first", (), f"(H, W, C) → (C, H, W) = {out.shape}, {out.dtype}", out)
        return out

    def _pipeline(self, x: np.ndarray, s, add) -> np.ndarray:
        """resize → center_crop → rescale → normalize, each when its do_* key is true."""
        if s.do_resize:
            x = self._resize(x, s, add)
        if s.do_center_crop:
            x = self._crop(x, s.crop_size, ("do_center_crop", "crop_size"), add)
        if s.do_rescale:
            x = ops.rescale(x, s.rescale_factor)
            add("rescale", ("do_rescale", "rescale_factor"), f"× {s.rescale_factor:.6g} → float32", x)
        if s.do_normalize:
            x = ops.normalize(x, s.image_mean, s.image_std)
            add("normalize", ("do_normalize", "image_mean", "image_std"),
                f"(x − mean {_fmt(s.image_mean)}) / std {_fmt(s.image_std)}", x)
        return x

    def _resize(self, x: np.ndarray, s, add) -> np.ndarray:
        if s.size is None:
            raise FeatureExtractionError(f"{type(self).__name__}: do_resize is true but size is not set.")
        old_h, old_w = ops.hw(x)
        h, w = ops.output_size(old_h, old_w, s.size)
        out = ops.resize(x, h, w, _resample(s))
        rule = f"shortest edge {s.size['shortest_edge']}" if "shortest_edge" in s.size else f"to {s.size}"
        add("resize", ("do_resize", "size", "resample"),
            f"{rule}: {old_w}×{old_h} → {w}×{h} (W×H), {ops.RESAMPLE_NAMES[_resample(s)]}", out)
        return out

    def _crop(self, x: np.ndarray, size: dict, keys: tuple[str, ...], add) -> np.ndarray:
        if not size or "height" not in size:
            raise FeatureExtractionError(f"{type(self).__name__}: center crop needs crop_size with height and width.")
        out = ops.center_crop(x, size["height"], size["width"])
        add("center_crop", keys, f"centre {size['width']}×{size['height']} of {x.shape[1]}×{x.shape[0]} "
            f"(top {(x.shape[0] - size['height']) // 2}, left {(x.shape[1] - size['width']) // 2})", out)
        return out

    # ---------------------------------------------------------------- for the UI
    def unnormalize(self, pixel_values) -> np.ndarray:
        """(C, H, W) model input → (H, W, C) uint8: what the network sees, shown as an image."""
        s = self.config
        mean, std = (s.image_mean, s.image_std) if s.do_normalize else (None, None)
        return ops.unnormalize(pixel_values, mean, std, s.rescale_factor if s.do_rescale else None)

    def describe(self) -> dict[str, Any]:
        facts = super().describe()
        facts["resample_name"] = ops.RESAMPLE_NAMES.get(_resample(self.config))
        facts["model_input_names"] = list(self.model_input_names)
        return facts


def _resample(s) -> int:
    return 2 if s.resample is None else int(s.resample)  # transformers: bilinear when unset


def _fmt(values) -> str:
    if isinstance(values, (int, float)):
        return f"{values:.4g}"
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def flat_images(images) -> list:
    """One image, a list, a nested list, or a 4-D array → a flat list of images."""
    if isinstance(images, (list, tuple)):
        out = []
        for item in images:
            out.extend(flat_images(item) if isinstance(item, (list, tuple)) or _is_batch_array(item) else [item])
        if not out:
            raise InputError("No image given; pass a PIL image, an array, or a list of them.")
        return out
    if _is_batch_array(images):
        return list(images)
    return [images]


def _is_batch_array(x) -> bool:
    return hasattr(x, "ndim") and hasattr(x, "shape") and x.ndim == 4
