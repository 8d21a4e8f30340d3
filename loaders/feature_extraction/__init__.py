"""AutoFeatureExtractor / AutoImageProcessor: preprocessor_config.json → an audio extractor or image processor.

Resolution follows transformers 5.x (see `auto.py`); every decision lands in `.trace`.
`import loaders.feature_extraction` is light: numpy/PIL load with a class, torch with a Whisper call.

Public API (for the Feature Extractor tab)
==========================================

Loading::

    from loaders import AutoFeatureExtractor, AutoImageProcessor
    from loaders.feature_extraction import load_preprocessor   # whichever of the two the checkpoint has
    fe = AutoFeatureExtractor.from_pretrained("openai/whisper-tiny" | local_folder | Checkpoint, **overrides)
    ip = AutoImageProcessor.from_pretrained("google/vit-base-patch16-224", apply_ocr=False, ...)
    fe.trace / ip.trace        # loaders.trace.Trace: which key decided, legacy conversions, defaults used
    fe.config / ip.config      # the settings dataclass (fields = JSON keys); also readable as fe.sampling_rate
    fe.describe() / ip.describe()   # dict of facts (JSON-friendly values), see below
    fe.to_dict()               # settings as preprocessor_config.json would hold them

Errors: FeatureExtractionError (bad config, wrong sampling rate, impossible call), InputError (an image
that cannot be used), MissingFile / MalformedFile / UnsupportedModelType / RemoteCodeRefused at load.
AutoFeatureExtractor on a vision checkpoint raises FeatureExtractionError naming AutoImageProcessor
(transformers 5 refuses too); `load_preprocessor` falls back to the image processor instead.

Calling (transformers' conventions, returns loaders.batch.BatchFeature with transformers' keys/shapes)::

    fe(raw_speech, sampling_rate=16000, padding=..., max_length=..., truncation=...,
       return_attention_mask=..., return_tensors="np" | "pt" | None)
    ip(images, return_tensors="np" | "pt" | None, **overrides)   # one or a list of PIL / numpy / torch images
    # Whisper → input_features (B, 80|128, 3000); Wav2Vec2 → input_values (B, N) [+ attention_mask];
    # AST → input_values (B, 1024, 128); images → pixel_values (B, 3, H, W) (list of arrays if return_tensors=None)

Audio extractors (Wav2Vec2FeatureExtractor, WhisperFeatureExtractor, ASTFeatureExtractor)::

    fe.sampling_rate           # int, the rate the extractor expects (resample to it first; others raise)
    fe.describe() -> {"class": "WhisperFeatureExtractor", "sampling_rate": 16000, "feature_size": 80,
                      "n_fft": 400, "hop_length": 160, "chunk_length": 30, "n_samples": 480000,
                      "nb_max_frames": 3000, "padding_value": 0.0, "mel_scale": "slaney", ...}
                      # AST adds frame_length, hop_length, n_fft, num_mel_bins, max_length, mean, std, ...
    fe.explain(waveform, sampling_rate) -> dict   # ONE 1-D float waveform; Whisper/Wav2Vec2 also take
                                                  # padding=, max_length=, truncation=
        "input":        np.ndarray (n,) float32, the waveform as given
        "waveform":     np.ndarray, the waveform the features are computed from: after padding/truncation
                        (Whisper: 480000 samples), after normalisation for Wav2Vec2 (do_normalize)
        "features":     np.ndarray, this item's model input: Whisper (n_mels, 3000),
                        AST (1024, 128) = (frames, mel bins), Wav2Vec2 (n,)
        "features_before_padding": np.ndarray | None   # Whisper: log-mel of the unpadded signal
                        (n_mels, n // 160); AST: log fbank before pad/trim and normalisation (frames, 128);
                        None for Wav2Vec2
        "feature_axis": {"time": "frames" | "samples", "frame_rate": frames (or samples) per second,
                         "mel_hz": centre frequency in Hz of each mel bin (None for Wav2Vec2)}
        "valid_samples": int (samples of real signal kept), "total_samples": int
        "valid_frames": int | None (frames from real signal; the rest is padding)
        "padding": {"side": "right", "samples": int, "frames": int | None, "truncated_samples": int,
                    "truncated_frames": int | None, "value": padding_value}
        "attention_mask": np.ndarray per sample (Whisper, Wav2Vec2) | None (AST)
        "stats": {"input" | "waveform" | "features": {"mean", "std", "min", "max", "shape"}}
        "steps": list of {"name", "keys" (preprocessor_config keys behind it), "detail" (plain words)}
    fe.mel_filters             # Whisper / AST: (bins, mels) float64 read-only filter bank (cached)

Image processors (ViT, CLIP, ConvNeXt, DeiT, BEiT, LayoutLMv2)::

    ip.steps(image, **overrides) -> list[StepResult]   # ONE image; the pipeline, step by step
        StepResult(name: str,          # "input", "convert_rgb", "resize", "center_crop", "rescale",
                                       # "normalize", "channels_first" (LayoutLMv2: "rgb_to_bgr")
                   keys: tuple[str, ...],   # preprocessor_config.json keys behind it ("size", "resample")
                   detail: str,        # plain words: "shortest edge 224: 640×480 → 298×224 (W×H), bicubic"
                   output: PIL.Image.Image (the "input" step, when given a PIL image) | np.ndarray
                           (H, W, C) uint8/float32 before channels_first, (C, H, W) after,
                   shape: tuple[int, ...])
    ip.describe() -> {"class", "do_resize", "size", "resample", "resample_name", "do_center_crop",
                      "crop_size", "do_rescale", "rescale_factor", "do_normalize", "image_mean",
                      "image_std", "do_convert_rgb", ...}
    ip.unnormalize(pixel_values_chw) -> np.ndarray (H, W, 3) uint8: the tensor shown back as an image
    # LayoutLMv2: apply_ocr=True needs `ip.ocr = hook(image_hwc_uint8, lang, tesseract_config) ->
    # (words, boxes 0-1000)` (the Processor provides it) and then adds "words"/"boxes"; else pass
    # apply_ocr=False. Its pixel_values are uint8 BGR; unnormalize() returns RGB.
"""

from __future__ import annotations


def __getattr__(name: str):
    # auto.py imports only light modules; numpy/torch/PIL load when a class is built or called.
    if name in ("AutoFeatureExtractor", "AutoImageProcessor", "load_preprocessor"):
        from . import auto

        return getattr(auto, name)
    raise AttributeError(f"module 'loaders.feature_extraction' has no attribute {name!r}")


__all__ = ["AutoFeatureExtractor", "AutoImageProcessor", "load_preprocessor"]
