"""Image processors: parity with transformers' PIL backend (`backend="pil"`), step by step views.

Each processor is saved with transformers' `save_pretrained` in a tmp dir and loaded by both sides
through AutoImageProcessor.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

from loaders import AutoImageProcessor
from loaders.errors import FeatureExtractionError, InputError

FAMILIES = {  # transformers' PIL class → settings that make the test meaningful
    "ViTImageProcessorPil": {},
    "CLIPImageProcessorPil": {},
    "ConvNextImageProcessorPil": {"size": {"shortest_edge": 224}},  # the crop_pct path
    "ConvNextImageProcessorPil@384": {"size": {"shortest_edge": 384}},  # the warp path
    "DeiTImageProcessorPil": {},
    "BeitImageProcessorPil": {},
    "LayoutLMv2ImageProcessorPil": {"apply_ocr": False},
}


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus noise, uint8 (H, W, 3): resampling filters see real structure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w * 200, y / h * 200, (x + y) / (h + w) * 255], axis=-1)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def _images() -> dict:
    rgb = Image.fromarray(_photo(480, 640))
    rgba = np.concatenate([_photo(300, 200, 1), np.linspace(0, 255, 300 * 200).reshape(300, 200, 1)], -1)
    return {
        "RGB": rgb,
        "RGBA": Image.fromarray(rgba.astype(np.uint8), "RGBA"),
        "L": rgb.convert("L"),
        "P": rgb.convert("P", palette=Image.Palette.ADAPTIVE),
        "I;16": Image.fromarray((_photo(120, 100, 2)[..., 0].astype(np.uint16) * 200), "I;16"),
        "tall": Image.fromarray(_photo(900, 120, 3)),
        "wide": Image.fromarray(_photo(60, 700, 4)),
        "tiny": Image.fromarray(_photo(20, 30, 5)),
        "numpy HWC": _photo(64, 80, 6),
        "numpy CHW float": np.moveaxis(_photo(50, 70, 7), -1, 0).astype(np.float32) / 255,
    }


IMAGES = _images()


@pytest.fixture(scope="module", params=list(FAMILIES))
def pair(request, tmp_path_factory):
    name = request.param.split("@")[0]
    theirs_cls = getattr(transformers, name, None) or _pil_class(name)
    folder = tmp_path_factory.mktemp(name)
    theirs_cls(**FAMILIES[request.param]).save_pretrained(folder)
    theirs = transformers.AutoImageProcessor.from_pretrained(folder, backend="pil")
    assert type(theirs).__name__ == name  # the oracle really is the PIL backend
    return AutoImageProcessor.from_pretrained(str(folder)), theirs


def _pil_class(name: str):
    import importlib

    family = {"ViT": "vit", "CLIP": "clip", "ConvNext": "convnext", "DeiT": "deit", "Beit": "beit",
              "LayoutLMv2": "layoutlmv2"}[name.split("ImageProcessor")[0]]
    module = importlib.import_module(f"transformers.models.{family}.image_processing_pil_{family}")
    return getattr(module, name)


def _both(ours, theirs, image, **kw):
    """(ours, theirs) results, or the exception each raised."""
    out = []
    for proc in (ours, theirs):
        try:
            out.append(proc(image, return_tensors="np", **kw).pixel_values)
        except (ValueError, FeatureExtractionError, InputError) as e:
            out.append(e)
    return out


@pytest.mark.parametrize("kind", list(IMAGES))
def test_parity_with_rgb_conversion(pair, kind):
    """With do_convert_rgb every mode becomes RGB the same way: values match to 1e-5."""
    ours, theirs = pair
    a, b = _both(ours, theirs, IMAGES[kind], do_convert_rgb=True)
    assert not isinstance(b, Exception), b
    assert a.shape == b.shape and a.dtype == b.dtype
    assert float(np.abs(a.astype(np.float64) - b).max()) <= 1e-5


@pytest.mark.parametrize("kind", list(IMAGES))
def test_parity_with_checkpoint_settings(pair, kind):
    """As configured (ViT etc. do not convert to RGB): same numbers, or both refuse the image."""
    ours, theirs = pair
    a, b = _both(ours, theirs, IMAGES[kind])
    if isinstance(b, Exception):
        assert isinstance(a, InputError), f"transformers raised {b!r} but we returned {type(a)}"
        assert "convert" in str(a)  # says what to do
        return
    assert not isinstance(a, Exception), a
    assert a.shape == b.shape and a.dtype == b.dtype
    assert float(np.abs(a.astype(np.float64) - b).max()) <= 1e-5


def test_batch_list_and_torch_tensor(pair):
    ours, theirs = pair
    batch = [IMAGES["RGB"], IMAGES["tall"], torch.from_numpy(_photo(40, 90, 9))]
    a = ours(batch, return_tensors="pt").pixel_values
    b = theirs(batch, return_tensors="pt").pixel_values
    assert a.shape == b.shape and a.shape[0] == 3
    assert float((a.double() - b.double()).abs().max()) <= 1e-5
    plain = ours(batch)  # no return_tensors: a list of arrays, as transformers returns
    assert isinstance(plain.pixel_values, list) and len(plain.pixel_values) == 3


def test_steps_end_in_the_model_input(pair):
    ours, _ = pair
    image = IMAGES["wide"]
    steps = ours.steps(image, do_convert_rgb=True)
    names = [s.name for s in steps]
    assert names[0] == "input" and names[1] == "convert_rgb" and names[-1] == "channels_first"
    assert "resize" in names
    final = ours(image, do_convert_rgb=True, return_tensors="np").pixel_values[0]
    assert np.array_equal(steps[-1].output, final) and steps[-1].shape == final.shape
    for step in steps[1:]:
        assert step.shape == tuple(np.shape(step.output)) and isinstance(step.keys, tuple) and step.detail


def test_unnormalize_shows_the_crop(pair):
    ours, _ = pair
    steps = ours.steps(IMAGES["RGB"])
    before_rescale = [s for s in steps if s.name in ("resize", "center_crop")][-1].output
    shown = ours.unnormalize(steps[-1].output)
    assert shown.dtype == np.uint8 and shown.shape == before_rescale.shape
    assert np.abs(shown.astype(int) - before_rescale.astype(int)).max() <= 1


def test_clip_steps_sizes_and_keys():
    from loaders.feature_extraction.vision import CLIPImageProcessor

    steps = {s.name: s for s in CLIPImageProcessor.from_dict({}).steps(IMAGES["RGB"])}
    assert steps["resize"].shape == (224, 298, 3) and steps["resize"].keys == ("do_resize", "size", "resample")
    assert steps["center_crop"].shape == (224, 224, 3)
    assert steps["normalize"].keys == ("do_normalize", "image_mean", "image_std")
    assert steps["channels_first"].shape == (3, 224, 224)


def test_convnext_crop_pct_steps():
    from loaders.feature_extraction.vision import ConvNextImageProcessor

    steps = {s.name: s for s in ConvNextImageProcessor.from_dict({"size": 224}).steps(IMAGES["RGB"])}
    assert steps["resize"].shape == (256, 341, 3)  # int(224 / 0.875) = 256 on the short side
    assert steps["center_crop"].shape == (224, 224, 3) and "crop_pct" in steps["center_crop"].keys


def test_layoutlmv2_ocr_belongs_to_the_processor():
    from loaders.feature_extraction.vision import LayoutLMv2ImageProcessor

    ip = LayoutLMv2ImageProcessor.from_dict({"apply_ocr": True, "resample": 2, "size": 224})
    assert any(s.level == "warn" and s.key == "apply_ocr" for s in ip.trace)
    with pytest.raises(FeatureExtractionError, match="apply_ocr=False"):
        ip(IMAGES["RGB"])
    out = ip(IMAGES["RGB"], apply_ocr=False, return_tensors="np")
    assert out.pixel_values.dtype == np.uint8 and set(out) == {"pixel_values"}
    ip.ocr = lambda image, lang, config: (["hello"], [[0, 0, int(1000 * 10 / image.shape[1]), 20]])
    out = ip([IMAGES["RGB"], IMAGES["tall"]], return_tensors="pt")
    assert out["words"] == [["hello"], ["hello"]] and out.pixel_values.shape == (2, 3, 224, 224)
    bgr = out.pixel_values[0].numpy()
    assert np.array_equal(ip.unnormalize(bgr), np.moveaxis(bgr[::-1], 0, -1))  # shown back as RGB


def test_bad_inputs_are_our_errors():
    from loaders.feature_extraction.vision import ViTImageProcessor

    ip = ViTImageProcessor.from_dict({})
    with pytest.raises(InputError):
        ip("not an image")
    with pytest.raises(InputError):
        ip([])
    with pytest.raises(InputError, match="channel"):
        ip(np.zeros((10, 10, 7), dtype=np.uint8))
    with pytest.raises(FeatureExtractionError, match="no setting"):
        ip(IMAGES["RGB"], sizee=3)
