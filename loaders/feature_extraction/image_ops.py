"""Pure image steps, each array in → array out, channels last (H, W, C) until `channels_first`.

The numbers follow transformers' PIL backend exactly: resizing goes through Pillow on uint8 pixels,
rescale multiplies in float64 then stores float32, normalize works in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

import numpy as np

from ..errors import FeatureExtractionError, InputError

# Pillow's resampling codes, as preprocessor_config.json stores them.
RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
VALID_SIZE_KEYS = ({"height", "width"}, {"shortest_edge"}, {"shortest_edge", "longest_edge"}, {"longest_edge"},
                   {"max_height", "max_width"})


@dataclass(frozen=True)
class StepResult:
    """One pipeline step for the UI: its name, the config keys behind it, what it did, and its output."""

    name: str
    keys: tuple[str, ...]
    detail: str
    output: Any  # np.ndarray (H, W, C) before channels_first, (C, H, W) after
    shape: tuple[int, ...]


# ---------------------------------------------------------------- input
def to_hwc(image, do_convert_rgb: bool) -> np.ndarray:
    """PIL image / numpy array / torch tensor → (H, W, C) array; RGB conversion first when asked."""
    from PIL import Image

    if isinstance(image, Image.Image):
        if do_convert_rgb:
            return convert_rgb_pil(image)
        array = np.array(image)  # mode L/P/I;16 → (H, W): P gives palette indices, as in transformers
        return array[..., None] if array.ndim == 2 else array
    if hasattr(image, "detach"):  # torch tensor
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise InputError(f"Expected a PIL image, a numpy array or a torch tensor, got {type(image).__name__}.")
    if image.ndim == 2:
        image = image[..., None]
    elif image.ndim != 3:
        raise InputError(f"An image array must be (H, W), (H, W, C) or (C, H, W); got shape {image.shape}.")
    elif image.shape[0] in (1, 3, 4):  # channels first (also when ambiguous, like transformers)
        image = np.moveaxis(image, 0, -1)
    elif image.shape[-1] not in (1, 3, 4):
        raise InputError(f"Cannot tell the channel axis of an image of shape {image.shape}; "
                         "use 1, 3 or 4 channels.")
    return convert_rgb_array(image) if do_convert_rgb else image


def prepare(image, do_convert_rgb: bool):
    """Like `to_hwc`, but a PIL image converted to RGB stays a PIL image (resize needs no array round trip)."""
    from PIL import Image

    if isinstance(image, Image.Image) and do_convert_rgb:
        return rgb_pil(image)
    return to_hwc(image, do_convert_rgb)


def rgb_pil(image):
    """Any PIL mode → a PIL RGB image; transparency is composited onto white (transformers 5)."""
    from PIL import Image

    if "A" in image.getbands() or image.info.get("transparency") is not None:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def convert_rgb_pil(image) -> np.ndarray:
    """Any PIL mode → (H, W, 3) uint8 RGB array."""
    return np.array(rgb_pil(image))


def hw(image) -> tuple[int, int]:
    """(height, width) of an array (H, W, C) or a PIL image."""
    return (image.height, image.width) if hasattr(image, "getbands") else image.shape[:2]


def as_array(image) -> np.ndarray:
    """(H, W, C) array of an array or a PIL RGB image."""
    return np.asarray(image) if hasattr(image, "getbands") else image


def convert_rgb_array(image: np.ndarray) -> np.ndarray:
    """(H, W, 1|3|4) → (H, W, 3): grey repeated, alpha composited onto white."""
    channels = image.shape[-1]
    if channels == 1:
        return np.repeat(image, 3, axis=-1)
    if channels != 4:
        return image
    if np.issubdtype(image.dtype, np.floating) and (image.min() < 0.0 or image.max() > 1.0):
        raise InputError(f"An RGBA float image must be in [0, 1]; got [{image.min()}, {image.max()}].")
    white = 255 if np.issubdtype(image.dtype, np.integer) else 1.0
    alpha = image[..., 3:4] / white
    composite = alpha * image[..., :3] + (1 - alpha) * white
    return np.round(composite).astype(image.dtype) if white == 255 else composite.astype(image.dtype)


# ---------------------------------------------------------------- sizes
def size_dict(size, default_to_square: bool = True, name: str = "size") -> dict[str, int]:
    """transformers' `get_size_dict`: legacy int / (h, w) → a dict with one of the valid key sets."""
    if isinstance(size, bool):
        raise FeatureExtractionError(f"{name}={size!r} is not a size.")
    if isinstance(size, int):
        out = {"height": size, "width": size} if default_to_square else {"shortest_edge": size}
    elif isinstance(size, (list, tuple)) and len(size) == 2:
        out = {"height": int(size[0]), "width": int(size[1])}
    elif isinstance(size, dict):
        out = {k: v for k, v in size.items() if v is not None}
    else:
        raise FeatureExtractionError(f"{name}={size!r} is not a size; use an int, [height, width] or a dict.")
    if set(out) not in VALID_SIZE_KEYS:
        raise FeatureExtractionError(f"{name} has keys {sorted(out)}; expected one of "
                                     f"{[sorted(k) for k in VALID_SIZE_KEYS]}.")
    return out


def shortest_edge_size(height: int, width: int, shortest: int) -> tuple[int, int]:
    """Short side → `shortest`, long side scaled and truncated: (h, w)."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(shortest * long / short)
    return (new_long, shortest) if width <= height else (shortest, new_long)


def output_size(height: int, width: int, size: dict[str, int]) -> tuple[int, int]:
    """The (h, w) a resize to `size` produces (transformers' PIL backend rules)."""
    if "shortest_edge" in size and "longest_edge" in size:
        return _aspect_with_max(height, width, size["shortest_edge"], size["longest_edge"])
    if "shortest_edge" in size:
        return shortest_edge_size(height, width, size["shortest_edge"])
    if "max_height" in size:
        scale = min(size["max_height"] / height, size["max_width"] / width)
        return max(int(height * scale), 1), max(int(width * scale), 1)
    if "height" in size:
        return size["height"], size["width"]
    raise FeatureExtractionError(f"Cannot resize to {size}: give height and width, or shortest_edge.")


def _aspect_with_max(height: int, width: int, size: int, max_size: int) -> tuple[int, int]:
    raw = None
    lo, hi = float(min(height, width)), float(max(height, width))
    if hi / lo * size > max_size:
        raw = max_size * lo / hi
        size = int(round(raw))
    if (height <= width and height == size) or (width <= height and width == size):
        return height, width
    if width < height:
        return int((raw if raw is not None else size) * height / width), size
    return size, int((raw if raw is not None else size) * width / height)


# ---------------------------------------------------------------- steps
def resize(image, height: int, width: int, resample: int) -> np.ndarray:
    """Resize (H, W, C) (or a PIL RGB image) with Pillow; non-uint8 input becomes uint8 first, as in transformers."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return np.asarray(image.resize((width, height), resample=Image.Resampling(resample)))
    rescaled = _needs_scaling_for_pil(image)
    pixels = rescale(image, 255) if rescaled else image
    channels = pixels.shape[-1]
    pil = Image.fromarray(pixels[..., 0].astype(np.uint8) if channels == 1 else pixels.astype(np.uint8))
    out = np.asarray(pil.resize((width, height), resample=Image.Resampling(resample)))
    out = out[..., None] if out.ndim == 2 else out
    return rescale(out, 1 / 255) if rescaled else out


def _needs_scaling_for_pil(image: np.ndarray) -> bool:
    # Pillow stores uint8: integers in [0, 255] go as they are, floats in [0, 1] are scaled by 255.
    if image.dtype == np.uint8:
        return False
    if np.allclose(image, image.astype(int)):
        if image.min() >= 0 and image.max() <= 255:
            return False
        raise InputError(f"This image has values in [{image.min()}, {image.max()}] ({image.dtype}), outside the "
                         "0–255 range a resize can take; convert it to 8-bit RGB first (e.g. a 16-bit PNG).")
    if image.min() >= 0 and image.max() <= 1:
        return True
    raise InputError(f"This float image has values in [{image.min()}, {image.max()}]; expected [0, 1] or [0, 255].")


def center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop the centre (top = (H - h) // 2); an image smaller than the crop is zero-padded around."""
    h, w = image.shape[:2]
    top, left = (h - height) // 2, (w - width) // 2
    if top >= 0 and left >= 0:
        return image[top:top + height, left:left + width]
    new_h, new_w = max(height, h), max(width, w)
    canvas = np.zeros((new_h, new_w) + image.shape[2:], dtype=image.dtype)
    pad_top, pad_left = ceil((new_h - h) / 2), ceil((new_w - w) / 2)
    canvas[pad_top:pad_top + h, pad_left:pad_left + w] = image
    top, left = top + pad_top, left + pad_left
    return canvas[max(0, top):min(new_h, top + height), max(0, left):min(new_w, left + width)]


def rescale(image: np.ndarray, factor: float) -> np.ndarray:
    """Multiply in float64 (numpy promotion), store float32."""
    return (image.astype(np.float64) * factor).astype(np.float32)


def normalize(image: np.ndarray, mean, std) -> np.ndarray:
    """(x - mean) / std per channel, in float32 (or the image's float type)."""
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32)
    channels = image.shape[-1]
    mean, std = _per_channel(mean, channels, "image_mean"), _per_channel(std, channels, "image_std")
    return (image - np.asarray(mean, dtype=image.dtype)) / np.asarray(std, dtype=image.dtype)


def _per_channel(values, channels: int, key: str) -> list[float]:
    if isinstance(values, (int, float)):
        return [float(values)] * channels
    if len(values) != channels:
        raise InputError(f"The image has {channels} channel(s) but {key} has {len(values)} values; "
                         "convert the image to RGB first.")
    return list(values)


def flip_channels(image: np.ndarray) -> np.ndarray:
    """RGB → BGR (Detectron2's order)."""
    return image[..., ::-1]


def channels_first(image: np.ndarray) -> np.ndarray:
    """(H, W, C) → (C, H, W)."""
    return np.ascontiguousarray(np.moveaxis(image, -1, 0))


def unnormalize(pixel_values, mean, std, rescale_factor: float | None) -> np.ndarray:
    """(C, H, W) model input → (H, W, C) uint8 image: normalisation and rescaling undone."""
    x = np.moveaxis(np.asarray(pixel_values, dtype=np.float64), 0, -1)
    if mean is not None and std is not None:
        channels = x.shape[-1]
        x = x * np.asarray(_per_channel(std, channels, "image_std")) + np.asarray(_per_channel(mean, channels,
                                                                                              "image_mean"))
    if rescale_factor:
        x = x / rescale_factor
    return np.clip(np.round(x), 0, 255).astype(np.uint8)
