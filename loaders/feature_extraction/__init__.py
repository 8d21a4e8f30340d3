"""AutoFeatureExtractor / AutoImageProcessor: preprocessor_config.json → an audio extractor or image processor.

Resolution follows transformers 5.x (see `auto.py`); every decision lands in `.trace`.
Nothing here imports torch at import time; numpy/PIL/torch are imported when a call needs them.

Public API (for the Feature Extractor tab)
==========================================

Loading::

    from loaders import AutoFeatureExtractor, AutoImageProcessor
    fe = AutoFeatureExtractor.from_pretrained("openai/whisper-tiny" | local_folder | Checkpoint)
    ip = AutoImageProcessor.from_pretrained("google/vit-base-patch16-224")
    fe.trace / ip.trace        # loaders.trace.Trace: which key decided, legacy conversions, defaults used
    fe.describe() / ip.describe()   # dict[str, Any] of facts, see below (JSON-friendly values)

Calling (transformers' conventions, returns loaders.batch.BatchFeature with transformers' keys/shapes)::

    fe(raw_speech, sampling_rate=16000, padding=..., max_length=..., truncation=...,
       return_attention_mask=..., return_tensors="np" | "pt" | None)
    ip(images, return_tensors="np" | "pt" | None)   # images: one or a list of PIL images / numpy arrays

Audio extractors (Wav2Vec2FeatureExtractor, WhisperFeatureExtractor, ASTFeatureExtractor)::

    fe.sampling_rate           # int, the rate the extractor expects (decode/resample to it first)
    fe.describe() -> {"class": "WhisperFeatureExtractor", "sampling_rate": 16000, "feature_size": 80,
                      "n_fft": 400, "hop_length": 160, "chunk_length": 30, "n_samples": 480000,
                      "nb_max_frames": 3000, "padding_value": 0.0, ...}   # keys present per class
    fe.explain(waveform, sampling_rate) -> dict     # ONE 1-D float waveform, intermediate signals:
        "input":        np.ndarray (n,) float32, the waveform as given
        "waveform":     np.ndarray, the waveform after padding/truncation (and normalisation where the
                        class normalises: Wav2Vec2 do_normalize); what the model/STFT sees
        "features":     np.ndarray, the final model input of this item (Whisper (n_mels, 3000),
                        AST (1024, 128) = (frames, mel bins), Wav2Vec2 (n,))
        "features_before_padding": np.ndarray | None   # Whisper: log-mel of the unpadded signal,
                        AST: fbank before pad/truncate and before normalisation; None for Wav2Vec2
        "feature_axis": {"time": "frames", "frame_rate": frames per second, "mel_hz": list of
                         centre frequencies of the mel bins in Hz (None for Wav2Vec2)}
        "valid_samples": int, samples of real signal kept; "total_samples": int
        "valid_frames": int | None, frames that come from real signal (rest is padding)
        "padding": {"side": "right", "samples": int, "frames": int | None, "truncated_samples": int,
                    "truncated_frames": int | None, "value": padding_value}
        "attention_mask": np.ndarray | None (per sample (Wav2Vec2/Whisper) or per frame (AST: None))
        "stats": {name: {"mean","std","min","max","shape"}} for "input", "waveform", "features"
        "steps": list[dict(name, keys, detail)]: each step with the preprocessor_config key(s) behind it

Image processors (ViT, CLIP, ConvNeXt, DeiT, BEiT, LayoutLMv2)::

    ip.steps(image) -> list[StepResult]   # ONE image (PIL or numpy); the pipeline, step by step
        StepResult(name: str,          # "input", "convert_rgb", "resize", "center_crop", "rescale",
                                       # "normalize", "channels_first" (+ "rgb_to_bgr" for LayoutLMv2)
                   keys: tuple[str, ...],   # preprocessor_config.json keys behind it ("size", "resample")
                   detail: str,        # plain words: "shortest edge 224 → 298×224, bicubic"
                   output: PIL.Image.Image | np.ndarray,  # the image/array after this step
                   shape: tuple[int, ...])  # (H, W, C) before channels_first, (C, H, W) after
    ip.describe() -> {"class", "do_resize", "size", "resample" (name), "do_center_crop", "crop_size",
                      "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std", ...}
    ip.unnormalize(pixel_values_chw) -> np.ndarray (H, W, 3) uint8: the tensor shown back as an image

Both also offer `to_dict()` (settings as the JSON would hold them) and `.config` (the dataclass).
`load_preprocessor(checkpoint)` returns whichever of the two the checkpoint has (audio first).
"""

from __future__ import annotations


def __getattr__(name: str):
    # auto.py imports only light modules; numpy/torch/PIL load when a class is built or called.
    if name in ("AutoFeatureExtractor", "AutoImageProcessor", "load_preprocessor"):
        from . import auto

        return getattr(auto, name)
    raise AttributeError(f"module 'loaders.feature_extraction' has no attribute {name!r}")


__all__ = ["AutoFeatureExtractor", "AutoImageProcessor", "load_preprocessor"]
