"""The image processors: each family is its defaults (transformers' PIL-backend class attributes) plus,
where it differs, one overridden step. ConvNeXt resizes-then-crops by crop_pct below 384 px;
LayoutLMv2 stops after resizing and flips RGB → BGR (OCR is a hook the Processor provides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..batch import BatchFeature, to_tensor
from ..errors import FeatureExtractionError
from ..trace import Trace
from . import image_ops as ops
from .base import PREPROCESSOR_FILE
from .image_processing import ImageProcessor, ImageProcessorConfig, flat_images, square

IMAGENET_STANDARD = (0.5, 0.5, 0.5)
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
BILINEAR, BICUBIC = 2, 3


# ---------------------------------------------------------------- ViT: squash to 224×224
@dataclass
class ViTImageProcessorConfig(ImageProcessorConfig):
    do_resize: bool = True
    size: Any = square(224)
    resample: int = BILINEAR
    do_rescale: bool = True
    do_normalize: bool = True
    image_mean: Any = IMAGENET_STANDARD
    image_std: Any = IMAGENET_STANDARD


class ViTImageProcessor(ImageProcessor):
    config_class = ViTImageProcessorConfig


# ---------------------------------------------------------------- CLIP: shortest edge, centre crop
@dataclass
class CLIPImageProcessorConfig(ImageProcessorConfig):
    do_convert_rgb: bool = True
    do_resize: bool = True
    size: Any = field(default_factory=lambda: {"shortest_edge": 224})
    default_to_square: bool = False
    resample: int = BICUBIC
    do_center_crop: bool = True
    crop_size: Any = square(224)
    do_rescale: bool = True
    do_normalize: bool = True
    image_mean: Any = OPENAI_CLIP_MEAN
    image_std: Any = OPENAI_CLIP_STD


class CLIPImageProcessor(ImageProcessor):
    config_class = CLIPImageProcessorConfig


# ---------------------------------------------------------------- DeiT: 256×256 then crop 224
@dataclass
class DeiTImageProcessorConfig(ImageProcessorConfig):
    do_resize: bool = True
    size: Any = square(256)
    resample: int = BICUBIC
    do_center_crop: bool = True
    crop_size: Any = square(224)
    do_rescale: bool = True
    do_normalize: bool = True
    image_mean: Any = IMAGENET_STANDARD
    image_std: Any = IMAGENET_STANDARD


class DeiTImageProcessor(ImageProcessor):
    config_class = DeiTImageProcessorConfig


# ---------------------------------------------------------------- BEiT: 224×224 bicubic
@dataclass
class BeitImageProcessorConfig(ImageProcessorConfig):
    do_resize: bool = True
    size: Any = square(224)
    resample: int = BICUBIC
    do_center_crop: bool = False
    crop_size: Any = square(224)
    do_rescale: bool = True
    do_normalize: bool = True
    image_mean: Any = IMAGENET_STANDARD
    image_std: Any = IMAGENET_STANDARD
    do_reduce_labels: bool = False  # segmentation maps only; images are not affected


class BeitImageProcessor(ImageProcessor):
    config_class = BeitImageProcessorConfig


# ---------------------------------------------------------------- ConvNeXt: crop_pct below 384
@dataclass
class ConvNextImageProcessorConfig(ImageProcessorConfig):
    do_resize: bool = True
    size: Any = field(default_factory=lambda: {"shortest_edge": 384})
    default_to_square: bool = False
    resample: int = BICUBIC
    do_rescale: bool = True
    do_normalize: bool = True
    image_mean: Any = IMAGENET_STANDARD
    image_std: Any = IMAGENET_STANDARD
    crop_pct: float = 224 / 256


class ConvNextImageProcessor(ImageProcessor):
    """Below 384 px: shortest edge → size / crop_pct, then a centre crop of size×size; else warp to size×size."""

    config_class = ConvNextImageProcessorConfig

    def _resize(self, x: np.ndarray, s, add) -> np.ndarray:
        edge = (s.size or {}).get("shortest_edge")
        if not edge:
            raise FeatureExtractionError(f"ConvNextImageProcessor needs size with 'shortest_edge'; got {s.size}.")
        resample = BICUBIC if s.resample is None else s.resample
        old_h, old_w = ops.hw(x)
        if edge >= 384:  # evaluated at 384+: warp, no crop
            out = ops.resize(x, edge, edge, resample)
            add("resize", ("do_resize", "size", "resample"), f"shortest_edge {edge} ≥ 384: warp "
                f"{old_w}×{old_h} → {edge}×{edge}, {ops.RESAMPLE_NAMES[resample]}", out)
            return out
        crop_pct = 224 / 256 if s.crop_pct is None else s.crop_pct
        h, w = ops.shortest_edge_size(old_h, old_w, int(edge / crop_pct))
        out = ops.resize(x, h, w, resample)
        add("resize", ("do_resize", "size", "crop_pct", "resample"),
            f"shortest_edge {edge} < 384: shortest edge → int({edge} / {crop_pct:.4g}) = {int(edge / crop_pct)}: "
            f"{old_w}×{old_h} → {w}×{h}, {ops.RESAMPLE_NAMES[resample]}", out)
        return self._crop(out, {"height": edge, "width": edge}, ("size", "crop_pct"), add)


# ---------------------------------------------------------------- LayoutLMv2: 224×224 uint8, BGR
@dataclass
class LayoutLMv2ImageProcessorConfig(ImageProcessorConfig):
    do_resize: bool = True
    size: Any = square(224)
    resample: int = BILINEAR
    rescale_factor: float | None = None
    apply_ocr: bool = True
    ocr_lang: str | None = None
    tesseract_config: str | None = ""


# (image (H, W, C) uint8, lang, tesseract_config) → (words, boxes normalised to 0–1000 per axis)
OcrHook = Callable[[np.ndarray, "str | None", "str | None"], "tuple[list[str], list[list[int]]]"]


class LayoutLMv2ImageProcessor(ImageProcessor):
    """Resize only (no rescale, no normalisation: uint8 pixels), then RGB → BGR for Detectron2.

    OCR belongs to the Processor: with `apply_ocr` true a call needs `self.ocr` (an `OcrHook`), which
    adds `words` and `boxes`; without one it raises. Pass `apply_ocr=False` for pixel values only.
    """

    config_class = LayoutLMv2ImageProcessorConfig

    def __init__(self, config, trace: Trace | None = None, ocr: OcrHook | None = None):
        super().__init__(config, trace)
        self.ocr = ocr
        if self.config.apply_ocr:
            self.trace.warn(PREPROCESSOR_FILE, "OCR (Tesseract words + boxes) is run by the Processor "
                            "(AutoProcessor); this image processor alone needs apply_ocr=False", "apply_ocr", True)

    def __call__(self, images, return_tensors: str | None = None, **overrides) -> BatchFeature:
        s = self.settings(**overrides)
        items = flat_images(images)
        words, boxes = self._run_ocr(items, s) if s.apply_ocr else (None, None)
        out = BatchFeature(pixel_values=[self._run(image, s, None) for image in items])
        if return_tensors is not None:  # words and boxes are ragged per image: they stay lists (as in transformers)
            out["pixel_values"] = to_tensor(out["pixel_values"], return_tensors, "pixel_values")
        if words is not None:
            out["words"], out["boxes"] = words, boxes
        return out

    preprocess = __call__

    def _run_ocr(self, items: list, s) -> tuple[list, list]:
        if self.ocr is None:
            raise FeatureExtractionError(
                "LayoutLMv2ImageProcessor has apply_ocr=True, and OCR is done by the LayoutLMv2 Processor "
                "(AutoProcessor); pass apply_ocr=False here for pixel values only.")
        results = [self.ocr(ops.to_hwc(image, bool(s.do_convert_rgb)), s.ocr_lang, s.tesseract_config)
                   for image in items]
        return [r[0] for r in results], [r[1] for r in results]

    def _pipeline(self, x: np.ndarray, s, add) -> np.ndarray:
        if s.do_resize:
            x = self._resize(x, s, add)
        x = ops.flip_channels(x)
        add("rgb_to_bgr", (), "channel order flipped RGB → BGR (Detectron2's order); pixels stay uint8", x)
        return x

    def unnormalize(self, pixel_values) -> np.ndarray:
        """(C, H, W) BGR uint8 → (H, W, C) RGB uint8 for display."""
        return ops.flip_channels(np.moveaxis(np.asarray(pixel_values), 0, -1)).astype(np.uint8)
