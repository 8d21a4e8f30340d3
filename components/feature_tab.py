"""The Feature Extractor tab: what an audio feature extractor or an image processor does to an input.

`extract_features(checkpoint, audio, image)` is the handler and the `/extract_features` API endpoint.
It loads the preprocessor through a bounded LRU cache shared by all users, decodes the upload with
`loaders.media` (conversions stated), asks the preprocessor to explain itself step by step, and
draws the result with `components.plots`. The shipped offline checkpoints and samples live in assets/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from loaders import Checkpoint, Trace
from loaders.cache import LRUCache
from loaders.errors import InputError

from . import feature_view as view
from . import plots
from .common import friendly, trace_html
from .media_inputs import ImageUpload

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLES = ASSETS / "samples"
# Shipped copies of real preprocessing configs: (label in the dropdown, folder).
SHIPPED = [
    ("whisper-tiny (offline copy of openai/whisper-tiny)", "whisper-tiny"),
    ("wav2vec2-base (offline copy of facebook/wav2vec2-base-960h)", "wav2vec2-base"),
    ("vit-base-patch16-224 (offline copy of google/vit-base-patch16-224)", "vit-base-patch16-224"),
    ("clip-vit-base-patch32 (offline copy of openai/clip-vit-base-patch32)", "clip-vit-base-patch32"),
]
CHOICES = [(label, str(ASSETS / "checkpoints" / folder)) for label, folder in SHIPPED]
DEFAULT_CHECKPOINT = CHOICES[0][1]
MAX_AUDIO_SECONDS = float(os.environ.get("CE_MAX_AUDIO_SECONDS") or 300)  # upload cap; default 5 minutes

_PREPROCESSORS = LRUCache(8)  # checkpoint string -> loaded extractor / image processor, shared and bounded

CSS = view.CSS + """
#ce-fx-run { min-width: 180px; align-self: center; }
"""


@dataclass
class AudioRun:
    """One audio call: the extractor, the decoded input, its `explain()` dict and the JSON summary."""

    pre: Any
    record: Any  # loaders.media.AudioRecord
    explained: dict
    result: dict


@dataclass
class ImageRun:
    """One image call: the processor, the decoded input, its steps, the model input and the JSON summary."""

    pre: Any
    record: Any  # loaders.media.ImageRecord
    steps: list
    pixels: Any  # np.ndarray (1, C, H, W)
    result: dict


# ------------------------------------------------------------------------------------ loading
def load_preprocessor(checkpoint: str):
    """The extractor or image processor for `checkpoint`, from the shared cache or freshly loaded."""
    spec = (checkpoint or "").strip()
    if not spec:
        raise InputError("Choose a checkpoint: one of the shipped ones, a Hub repo id or a local folder.")
    return _PREPROCESSORS.get_or_create(spec, lambda: _load(spec))


def _load(spec: str):
    from loaders import AutoFeatureExtractor, AutoImageProcessor

    ckpt = Checkpoint.open(spec, trace=Trace("Checkpoint"))
    raw = ckpt.read_json("preprocessor_config.json", required=True, purpose="a feature extractor or image processor")
    if "sampling_rate" in raw:  # every audio extractor's config has it; no image processor's does
        ckpt.trace.add("preprocessor_config.json", "audio settings → AutoFeatureExtractor", "sampling_rate",
                       raw["sampling_rate"])
        return AutoFeatureExtractor.from_pretrained(ckpt)
    ckpt.trace.add("preprocessor_config.json", "no sampling_rate: image settings → AutoImageProcessor")
    return AutoImageProcessor.from_pretrained(ckpt)


def _is_audio(pre) -> bool:
    return hasattr(pre, "explain")


# ------------------------------------------------------------------------------------ handler
@friendly
def extract_features(checkpoint: str, audio: str | None, image: str | None):
    """Run the checkpoint's preprocessor on the audio or image; return the page's outputs and a JSON summary."""
    pre = load_preprocessor(checkpoint)
    name = Path(checkpoint.strip()).name or checkpoint
    if _is_audio(pre):
        if audio is None:
            raise InputError(f"{name} is an audio feature extractor: upload or record audio first "
                             "(or click one of the audio examples).")
        return _audio_outputs(run_audio(pre, audio))
    if image is None:
        raise InputError(f"{name} is an image processor: upload an image or take one with the webcam first "
                         "(or click one of the image examples).")
    return _image_outputs(run_image(pre, image))


def run_audio(pre, audio) -> AudioRun:
    """Decode the audio, let the extractor explain it, and call it like transformers would."""
    from loaders.media import load_audio

    rate = int(pre.sampling_rate)
    record = load_audio(audio, rate, max_seconds=MAX_AUDIO_SECONDS)
    ex = pre.explain(record.waveform, rate)
    batch = pre(record.waveform, sampling_rate=rate, return_tensors="np")
    result = {
        "kind": "audio", "class": type(pre).__name__, "sampling_rate": rate,
        "input": {"format": record.file_format, "original_rate": record.original_rate, "channels": record.channels,
                  "duration_s": round(record.duration, 3), "silent": record.silent, "notes": record.notes},
        "outputs": _shapes(batch), "stats": ex.get("stats", {}), "steps": ex.get("steps", []),
        "padding": ex.get("padding"), "trace": _trace_list(pre, record.trace),
    }
    return AudioRun(pre, record, ex, result)


def run_image(pre, image) -> ImageRun:
    """Decode the image, run the pipeline step by step, and call it like transformers would."""
    from loaders.media import load_image

    desc = pre.describe()
    record = load_image(image, rgb=not desc.get("do_convert_rgb"))
    steps = pre.steps(record.image)
    batch = pre(record.image, return_tensors="np")
    pixels = next(iter(batch.values()))
    result = {
        "kind": "image", "class": type(pre).__name__,
        "input": {"format": record.file_format, "mode": record.original_mode,
                  "size": list(record.original_size), "frames": record.frames, "notes": record.notes},
        "outputs": _shapes(batch), "image_mean": desc.get("image_mean"), "image_std": desc.get("image_std"),
        "steps": [{"name": s.name, "keys": list(s.keys), "detail": s.detail, "shape": list(s.shape)} for s in steps],
        "stats": _channel_stats(pixels[0]), "trace": _trace_list(pre, record.trace),
    }
    return ImageRun(pre, record, steps, pixels, result)


def _shapes(batch) -> dict[str, dict]:
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in batch.items() if hasattr(v, "shape")}


def _channel_stats(chw) -> dict[str, dict]:
    import numpy as np

    chw = np.asarray(chw, dtype=np.float64)
    out = {"pixel_values[0]": _stat(chw)}
    for i, a in enumerate(chw):
        out[f"channel {i}"] = _stat(a)
    return out


def _stat(a) -> dict:
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "shape": list(a.shape)}


def _trace_list(pre, media: Trace) -> list[dict]:
    return [step for trace in _traces(pre, media) for step in trace.to_list()]


def _traces(pre, media: Trace) -> list[Trace]:
    return [t for t in (getattr(pre, "trace", None), media) if t is not None]


# ------------------------------------------------------------------------------------ audio view
def _audio_outputs(run: AudioRun):
    pre, record, ex, result = run.pre, run.record, run.explained, run.result
    waves = plots.waveform_figure(_wave_rows(ex, record, "attention_mask" in result["outputs"]))
    spec, result["spectrogram"] = _spectrogram(ex, pre, next(iter(result["outputs"]), "features"))
    facts = {"sampling_rate": str(result["sampling_rate"])}
    head = view.summary(f"{result['class']} — {record.duration:.2f} s of audio", facts, result["outputs"],
                        record.notes)
    details = (view.steps_table(_input_steps(record) + list(result["steps"])) + view.stats_table(result["stats"])
               + _padding_html(ex, result["outputs"]))
    return (head, gr.update(value=waves, visible=True), gr.update(value=spec, visible=spec is not None),
            gr.update(value=None, visible=False), gr.update(value=None, visible=False), details,
            trace_html(*_traces(pre, record.trace)), result)


def _wave_rows(ex: dict, record, mask_returned: bool) -> list[plots.WaveRow]:
    import numpy as np

    rate = record.sampling_rate
    mono = record.original.mean(axis=1) if record.channels > 1 else record.original[:, 0]
    mix = " (channels averaged)" if record.channels > 1 else ""
    cut = _cut_seconds(ex, rate)
    rows = [plots.WaveRow(f"decoded: {record.file_format}, {record.original_rate} Hz, {record.channels} channel(s)"
                          f"{mix}", mono, record.original_rate, cut=cut)]
    if record.resampled:
        rows.append(plots.WaveRow(f"resampled to {rate} Hz (soxr)", record.waveform, rate, cut=cut))
    model_wave = np.asarray(ex["waveform"]).reshape(-1)
    valid = ex.get("valid_samples")
    mask = ex.get("attention_mask")
    label = "what the extractor uses: " + _wave_label(ex, len(model_wave), rate)
    rows.append(plots.WaveRow(label, model_wave, rate, valid=None if valid is None else valid / rate,
                              mask=None if mask is None else np.asarray(mask).reshape(-1),
                              mask_label="attention_mask" + ("" if mask_returned else " (not returned)")))
    return rows


def _cut_seconds(ex: dict, rate: int) -> float | None:
    """Where truncation starts cutting the signal (seconds), or None when nothing is cut."""
    pad = ex.get("padding") or {}
    if not pad.get("truncated_samples"):
        return None
    return ex["valid_samples"] / rate


def _wave_label(ex: dict, n: int, rate: int) -> str:
    pad = ex.get("padding") or {}
    parts = [f"{n} samples = {n / rate:.2f} s"]
    if pad.get("samples"):
        parts.append(f"{pad['samples']} padding samples ({pad.get('side', 'right')})")
    if pad.get("truncated_samples"):
        parts.append(f"{pad['truncated_samples']} samples truncated")
    names = [s["name"] for s in ex.get("steps", [])]
    if any("normal" in n for n in names):
        parts.append("normalised")
    return ", ".join(parts)


def _spectrogram(ex: dict, pre, key: str):
    import numpy as np

    feats = np.asarray(ex["features"])
    if feats.ndim != 2:
        return None, None  # Wav2Vec2: the model input is the waveform itself
    axis = ex.get("feature_axis") or {}
    mel_hz = axis.get("mel_hz")
    if mel_hz is not None and feats.shape[0] != len(mel_hz) and feats.shape[1] == len(mel_hz):
        feats = feats.T  # AST gives (frames, bins); plot bins upwards
    pad = ex.get("padding") or {}
    frame_rate = float(axis.get("frame_rate") or 100.0)
    truncated = (pad.get("truncated_samples") or 0) / int(pre.sampling_rate)
    title = f"{type(pre).__name__}: {key}[0] as (bins, frames) = {feats.shape[0]} × {feats.shape[1]}"
    unit = "mel" if mel_hz is not None else "feature"
    info = {"bins": int(feats.shape[0]), "frames": int(feats.shape[1]), "frame_rate": frame_rate,
            "valid_frames": ex.get("valid_frames")}
    return plots.spectrogram_image(feats, frame_rate, mel_hz, ex.get("valid_frames"), title, unit, truncated), info


def _padding_html(ex: dict, outputs: dict) -> str:
    pad = ex.get("padding") or {}
    mask = ex.get("attention_mask")
    text = ", ".join(f"{k} = {v}" for k, v in pad.items() if v is not None)
    if mask is None:
        mask_text = "none for this extractor"
    else:
        ones = f"{int(sum(mask))} of {len(mask)} positions are 1"
        mask_text = f"returned, {ones}" if "attention_mask" in outputs else \
            f"not returned (return_attention_mask = false); it would be: {ones}"
    return view.note(f"Padding/truncation: {text or 'none'}. attention_mask: {mask_text}.")


def _input_steps(record) -> list[dict]:
    """What happened before the extractor, as steps: decoding, downmix, resampling."""
    steps = [{"name": "decode", "keys": [], "detail": f"{record.file_format}: {record.original.shape[0]} samples "
              f"× {record.channels} channel(s) at {record.original_rate} Hz → float32"}]
    if record.channels > 1:
        steps.append({"name": "downmix", "keys": [], "detail": f"{record.channels} channels averaged to mono"})
    if record.resampled:
        steps.append({"name": "resample", "keys": ["sampling_rate"],
                      "detail": f"{record.original_rate} Hz → {record.sampling_rate} Hz with soxr (high quality); "
                                "transformers leaves this to the caller and raises on a wrong rate"})
    return steps


# ------------------------------------------------------------------------------------ image view
def _image_outputs(run: ImageRun):
    pre, record, steps, pixels, result = run.pre, run.record, run.steps, run.pixels, run.result
    grid = plots.image_steps(_panels(steps, pre, pixels[0]))
    channels = plots.channel_images(pixels[0], _channel_names(steps), _channel_subtitles(result, pixels[0]))
    facts = {"image_mean": _floats(result["image_mean"]), "image_std": _floats(result["image_std"])}
    head = view.summary(f"{result['class']} — {record.original_size[0]}×{record.original_size[1]} "
                        f"{record.file_format} image", facts, result["outputs"], record.notes)
    details = view.steps_table(result["steps"]) + view.stats_table(result["stats"])
    return (head, gr.update(value=None, visible=False), gr.update(value=None, visible=False),
            gr.update(value=grid, visible=True), gr.update(value=channels, visible=True), details,
            trace_html(*_traces(pre, record.trace)), result)


def _panels(steps: list, pre, chw) -> list[tuple]:
    """original → resized (crop box outlined) → cropped → the tensor shown back as an image."""
    panels = []
    crop = next((s for s in steps if s.name == "center_crop"), None)
    input_mode = getattr(steps[0].output, "mode", "RGB") if steps else "RGB"
    for step in steps:
        shown = step.name in ("input", "resize", "center_crop") or (step.name == "convert_rgb" and input_mode != "RGB")
        if not shown:
            continue
        h, w = step.shape[:2]
        box = _crop_box(step, crop) if step.name == "resize" else None
        panels.append((f"{step.name}  {w}×{h}\n{', '.join(step.keys) or 'as decoded'}", step.output, box))
    undone = "mean/std undone" if pre.describe().get("do_normalize") else "no normalisation to undo"
    panels.append((f"model input {tuple(int(d) for d in chw.shape)}\nshown back: {undone}", pre.unnormalize(chw), None))
    return panels


def _crop_box(resize, crop) -> tuple[int, int, int, int] | None:
    if crop is None:
        return None
    h, w = resize.shape[:2]
    ch, cw = crop.shape[:2]
    top, left = (h - ch) // 2, (w - cw) // 2
    return left, top, left + cw, top + ch


def _channel_names(steps: list) -> tuple[str, ...]:
    return ("B", "G", "R") if any(s.name == "rgb_to_bgr" for s in steps) else ("R", "G", "B")


def _channel_subtitles(result: dict, chw) -> list[str]:
    mean, std = result.get("image_mean"), result.get("image_std")
    subs = []
    for i, a in enumerate(chw):
        norm = f"(x/255 − {mean[i]:.3f}) / {std[i]:.3f}" if mean and std and i < len(mean) else "not normalised"
        subs.append(f"{norm}\nrange [{a.min():.2f}, {a.max():.2f}]")
    return subs


def _floats(values) -> str:
    return "—" if not values else "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


# ------------------------------------------------------------------------------------ layout
def build() -> None:
    """Layout of the tab."""
    gr.Markdown("Pick a checkpoint, give it **audio** (upload or microphone) or an **image** (upload or webcam), "
                "and see each preprocessing step with the `preprocessor_config.json` key behind it.")
    with gr.Row(equal_height=False):
        ckpt = gr.Dropdown(CHOICES, value=DEFAULT_CHECKPOINT, label="Checkpoint (shipped offline copies, a Hub "
                           "repo id or a local folder)", allow_custom_value=True, scale=4, elem_id="ce-fx-ckpt")
        run = gr.Button("Extract features", variant="primary", elem_id="ce-fx-run", scale=1)
    with gr.Row():
        audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio (for audio checkpoints)",
                         elem_id="ce-fx-audio")
        image = ImageUpload(sources=["upload", "webcam"], type="filepath", label="Image (for vision checkpoints)",
                            elem_id="ce-fx-image", height=260)
    outputs = _outputs()  # created first so the examples can run; placed below them
    inputs = [ckpt, audio, image]
    examples = gr.Examples(_example_rows(), inputs, label="Examples (shipped checkpoints and samples; click one to "
                           "run it)", examples_per_page=6, api_visibility="private")
    head, waves, spec, grid, channels, details, trace, result = outputs
    for component in (head, waves, spec, grid, channels, details):
        component.render()
    with gr.Accordion("Resolution trace: why this preprocessor, and what was done to the input", open=True):
        trace.render()
    with gr.Accordion("JSON: what the /extract_features API returns", open=False):
        result.render()
    # Progress and an error badge on the summary only, not on every plot.
    run.click(extract_features, inputs, outputs, api_name="extract_features", show_progress_on=[head])
    examples.load_input_event.then(extract_features, inputs, outputs, show_progress_on=[head],
                                   api_visibility="private")


def _outputs() -> list:
    # The plots carry their own titles; gradio's label badge would cover them.
    image = {"format": "png", "interactive": False, "visible": False, "render": False, "show_label": False,
             "buttons": ["download", "fullscreen"]}
    return [
        gr.HTML(view.empty("Click an example above, or upload audio or an image and press Extract features."),
                elem_id="ce-fx-head", render=False),
        gr.Image(label="Waveform: decoded → resampled → what the extractor uses", elem_id="ce-fx-waves", **image),
        gr.Image(label="Spectrogram fed to the model", elem_id="ce-fx-spec", **image),
        gr.Image(label="Image pipeline: original → resized → cropped → tensor shown back", elem_id="ce-fx-grid",
                 **image),
        gr.Image(label="The normalised tensor, channel by channel", elem_id="ce-fx-channels", **image),
        gr.HTML(elem_id="ce-fx-details", render=False),
        gr.HTML(elem_id="ce-fx-trace", render=False),
        gr.JSON(elem_id="ce-fx-json", render=False),
    ]


def _example_rows() -> list[list]:
    whisper, w2v, vit, clip = (c[1] for c in CHOICES)
    return [[whisper, str(SAMPLES / "speech_16k_mono.wav"), None],
            [whisper, str(SAMPLES / "speech_44k_stereo.flac"), None],
            [w2v, str(SAMPLES / "speech_44k_stereo.flac"), None],
            [vit, None, str(SAMPLES / "grace_hopper.jpg")],
            [clip, None, str(SAMPLES / "grace_hopper.jpg")],
            [clip, None, str(SAMPLES / "shapes_480x300.png")]]
