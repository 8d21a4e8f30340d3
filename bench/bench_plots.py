"""Server-side render time of the Feature Extractor tab's plots (target: 30 s log-mel < 0.5 s).

    python bench/bench_plots.py [--repeat 5]

Prints the median time of each plot for a 30 s Whisper-shaped log-mel (80 × 3000) and a 30 s waveform.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components import plots  # noqa: E402


def _median_time(fn, repeat: int) -> float:
    fn()  # warm-up: font cache, colormaps
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    mel = rng.normal(size=(80, 3000)).astype(np.float32)
    mel_hz = list(np.linspace(0, 8000, 80))
    wave = rng.normal(scale=0.1, size=30 * 16000).astype(np.float32)
    long_wave = rng.normal(scale=0.1, size=300 * 16000).astype(np.float32)
    cases = {
        "spectrogram 80×3000 (30 s log-mel)": lambda: plots.spectrogram_image(
            mel, 100.0, mel_hz, valid_frames=700, title="log-mel"),
        "waveform 3 rows × 30 s @ 16 kHz": lambda: plots.waveform_figure(
            [plots.WaveRow("a", wave, 16000), plots.WaveRow("b", wave, 16000, valid=7.0),
             plots.WaveRow("c", wave, 16000, mask=np.ones(len(wave)))]),
        "waveform 1 row × 300 s @ 16 kHz": lambda: plots.waveform_figure([plots.WaveRow("a", long_wave, 16000)]),
        "image steps, 4 panels 224²": lambda: plots.image_steps(
            [(str(i), rng.integers(0, 255, (224, 224, 3), dtype=np.uint8), None) for i in range(4)]),
        "channel images 3×224²": lambda: plots.channel_images(rng.normal(size=(3, 224, 224))),
    }
    for name, fn in cases.items():
        seconds = _median_time(fn, args.repeat)
        flag = "  (target < 0.5 s)" if name.startswith("spectrogram") else ""
        print(f"{name:40s} {seconds * 1000:7.1f} ms{flag}")


if __name__ == "__main__":
    main()
