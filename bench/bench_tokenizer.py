"""Tokenizer speed, ours vs transformers, printed as ratios (not a test: timings depend on the machine).

(a) A fresh Python process: import + AutoTokenizer.from_pretrained(packaged MiniLM) + first call,
    timed from outside; median of --repeats runs each. Target: ours at least 10x faster.
(b) 10,000 sentences in one batch call with padding=True, both in this process; median of
    --repeats runs each. Target: ours within 1.1x of transformers' time.

Run: python bench/bench_tokenizer.py [--repeats 5] [--sentences 10000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCE = "In a hole in the ground there lived a hobbit."
FRESH = {
    "ours": "from loaders import AutoTokenizer\n"
            "tok = AutoTokenizer.from_pretrained({folder!r})\n"
            "tok({sentence!r})\n",
    "transformers": "from transformers import AutoTokenizer\n"
                    "tok = AutoTokenizer.from_pretrained({folder!r})\n"
                    "tok({sentence!r})\n",
}
WORDS = ("the a hobbit hole ground lived in there dry bare sandy nothing sit eat comfort door round green "
         "shiny yellow knob middle tube tunnel panelled walls floors tiled carpeted chairs lots pegs hats "
         "coats visitors Bilbo Baggins Gandalf wizard dwarves café naïve 東京 2024 isn't won't, . ! ?").split()


def fresh_process(folder: str, repeats: int) -> dict[str, float]:
    """Median wall time of a whole `python -c` run (interpreter start included) per implementation."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), TRANSFORMERS_VERBOSITY="error")
    out = {}
    for name, code in FRESH.items():
        code = code.format(folder=folder, sentence=SENTENCE)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
    return out


def sentences(n: int) -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40))) for _ in range(n)]


def batch_call(folder: str, n: int, repeats: int) -> dict[str, float]:
    """Median time of one padded batch call on `n` sentences, each implementation warmed up first."""
    import transformers

    from loaders import AutoTokenizer

    transformers.logging.set_verbosity_error()
    batch = sentences(n)
    tokenizers = {"ours": AutoTokenizer.from_pretrained(folder),
                  "transformers": transformers.AutoTokenizer.from_pretrained(folder)}
    first = {name: tok(batch, padding=True) for name, tok in tokenizers.items()}
    assert dict(first["ours"]) == dict(first["transformers"]), "results differ"
    times: dict[str, list[float]] = {name: [] for name in tokenizers}
    for _ in range(repeats):
        for name, tok in tokenizers.items():  # interleaved, so machine load hits both alike
            start = time.perf_counter()
            tok(batch, padding=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=10_000)
    args = parser.parse_args()
    from loaders.hub import DEFAULT_TEXT_CHECKPOINT, packaged_folder

    folder = str(packaged_folder(DEFAULT_TEXT_CHECKPOINT))
    fresh = fresh_process(folder, args.repeats)
    batch = batch_call(folder, args.sentences, args.repeats)
    print(f"checkpoint: packaged {DEFAULT_TEXT_CHECKPOINT}; median of {args.repeats} runs; "
          f"{os.cpu_count()} CPUs visible")
    print(f"{'measurement':<46} {'ours':>9} {'transformers':>13} {'ratio':>18}")
    print(f"{'(a) fresh process: import+load+first call':<46} {fresh['ours']:>8.3f}s {fresh['transformers']:>12.3f}s "
          f"{fresh['transformers'] / fresh['ours']:>9.1f}x faster")
    print(f"{f'(b) one batch call, {args.sentences:,} sentences':<46} {batch['ours']:>8.3f}s "
          f"{batch['transformers']:>12.3f}s {batch['ours'] / batch['transformers']:>9.2f}x of theirs")


if __name__ == "__main__":
    main()
