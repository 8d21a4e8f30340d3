"""Preprocessing speed, ours vs transformers, side by side in one run (same inputs, same machine).

    python bench/bench_features.py [--repeat 7] [--threads N]

- Whisper log-mel of 1 × 30 s and 16 × 30 s (target: ours ≥ 1.5× faster, at parity ≤ 1e-4).
- CLIP preprocessing of 32 photos of 640×480 (target: ours within 1.0× of transformers' PIL backend).
Prints the median wall and CPU time of each, the ratios (transformers / ours: > 1 means ours is
faster) and the max abs difference of the outputs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SR = 16000


def _median_times(fns, repeat: int) -> list[tuple[float, float]]:
    """(median wall time, median CPU time of this process) of each function.

    Calls are interleaved so that load on a shared machine hits both sides alike; the CPU time is
    the steadier number there (it does not count time spent waiting for a core).
    """
    for fn in fns:
        fn()  # warm-up: caches, lazy imports, FFT plans
    times: list[list[tuple[float, float]]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, bucket in zip(fns, times):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            bucket.append((time.perf_counter() - wall, time.process_time() - cpu))
    return [(statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for t in times]


def _report(name: str, ours, theirs, repeat: int, diff: float) -> None:
    (w_ours, c_ours), (w_theirs, c_theirs) = _median_times([ours, theirs], repeat)
    print(f"{name:30s} wall: transformers {w_theirs * 1000:7.1f} ms, ours {w_ours * 1000:7.1f} ms, "
          f"ratio {w_theirs / w_ours:4.2f}× | cpu: {c_theirs * 1000:7.1f} / {c_ours * 1000:7.1f} ms, "
          f"ratio {c_theirs / c_ours:4.2f}× | max|diff| {diff:.1e}")


def bench_whisper(repeat: int) -> None:
    import transformers

    from loaders import AutoFeatureExtractor

    with tempfile.TemporaryDirectory() as tmp:
        transformers.WhisperFeatureExtractor().save_pretrained(tmp)
        theirs = transformers.WhisperFeatureExtractor.from_pretrained(tmp)
        ours = AutoFeatureExtractor.from_pretrained(tmp)
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(30 * SR)).astype(np.float32) for _ in range(16)]
    # The single clip takes milliseconds: more repeats, or one scheduler hiccup decides the median.
    for label, batch, reps in (("whisper log-mel 1 × 30 s", clips[0], repeat * 8),
                               ("whisper log-mel 16 × 30 s", clips, repeat)):
        a = ours(batch, sampling_rate=SR, return_tensors="np").input_features
        b = theirs(batch, sampling_rate=SR, return_tensors="np").input_features
        _report(label, lambda batch=batch: ours(batch, sampling_rate=SR, return_tensors="np"),
                lambda batch=batch: theirs(batch, sampling_rate=SR, return_tensors="np"), reps,
                float(np.abs(a - b).max()))


def bench_clip(repeat: int) -> None:
    from PIL import Image
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    from loaders.feature_extraction.vision import CLIPImageProcessor

    theirs, ours = CLIPImageProcessorPil(), CLIPImageProcessor.from_dict({})
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:480, 0:640]
    images = []
    for _ in range(32):
        base = np.stack([x / 640 * 200, y / 480 * 200, (x + y) / 1120 * 255], -1) + rng.normal(0, 20, (480, 640, 3))
        images.append(Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)))
    a = ours(images, return_tensors="np").pixel_values
    b = theirs(images, return_tensors="np").pixel_values
    _report("CLIP preprocess 32 × 640×480", lambda: ours(images, return_tensors="np"),
            lambda: theirs(images, return_tensors="np"), repeat, float(np.abs(a - b).max()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (both sides)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeat} runs")
    bench_whisper(args.repeat)
    bench_clip(args.repeat)


if __name__ == "__main__":
    main()
