"""Server-side render time of the Feature Extractor tab's plots (target: 30 s log-mel < 0.5 s).

    python bench/bench_plots.py [--repeat 5]

Prints the median wall time and CPU time of each plot for a 30 s Whisper-shaped log-mel (80 × 3000),
waveforms and image panels. On a shared, loaded machine the wall time inflates; the CPU time is this
process's own work.
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


def _median_times(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm-up: font cache, colormaps
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


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
            mel, 100.0, mel_hz, valid_frames=2900, title="log-mel"),
        "spectrogram 80×3000 + zoom row (7 s of speech)": lambda: plots.spectrogram_image(
            mel, 100.0, mel_hz, valid_frames=700, title="log-mel"),
        "waveform 3 rows × 30 s @ 16 kHz": lambda: plots.waveform_figure(
            [plots.WaveRow("a", wave, 16000), plots.WaveRow("b", wave, 16000, valid=7.0),
             plots.WaveRow("c", wave, 16000, mask=np.ones(len(wave)))]),
        "waveform 1 row × 300 s @ 16 kHz": lambda: plots.waveform_figure([plots.WaveRow("a", long_wave, 16000)]),
        "image steps, 4 panels 224²": lambda: plots.image_steps(
            [(str(i), rng.integers(0, 255, (224, 224, 3), dtype=np.uint8), None) for i in range(4)]),
        "channel images 3×224²": lambda: plots.channel_images(rng.normal(size=(3, 224, 224))),
    }
    print(f"{'plot':48s} {'wall':>9s} {'cpu':>9s}")
    for name, fn in cases.items():
        wall, cpu = _median_times(fn, args.repeat)
        flag = "  (target < 500 ms)" if name.startswith("spectrogram") else ""
        print(f"{name:48s} {wall * 1000:6.1f} ms {cpu * 1000:6.1f} ms{flag}")


if __name__ == "__main__":
    main()
