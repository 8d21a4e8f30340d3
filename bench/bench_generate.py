"""Greedy generation with a KV cache, ours vs transformers, GPT-2-shaped (target: ours ≤ 1.0× transformers' time).

    python bench/bench_generate.py [--size 124m|small] [--new-tokens 64] [--prompt 16] [--repeat 3] [--threads 2]

Builds a GPT-2 checkpoint with random weights in a temp dir (124m: openai-community/gpt2's
config — 12 layers, 768 wide, 50257 vocab; small: 6 layers, 384 wide), loads it with both
libraries in float32, checks that both produce the same tokens, then times
`generate(max_new_tokens=N, do_sample=False)` alternately and prints medians and the ratio.
No eos is configured, so every run generates exactly N tokens.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = {"124m": dict(n_embd=768, n_layer=12, n_head=12), "small": dict(n_embd=384, n_layer=6, n_head=6)}


def build_checkpoint(folder: Path, size: str) -> None:
    import transformers

    config = transformers.GPT2Config(vocab_size=50257, n_positions=1024, bos_token_id=None, eos_token_id=None,
                                     **SIZES[size])
    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)


def timed(fn, repeat: int, times: list[float]) -> None:
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=list(SIZES), default="124m")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--prompt", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import transformers

    from loaders import AutoModelForCausalLM

    with tempfile.TemporaryDirectory() as tmp:
        build_checkpoint(Path(tmp), args.size)
        theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32).eval()
        ours = AutoModelForCausalLM.from_pretrained(tmp, dtype="float32")
        ids = torch.randint(0, 50257, (1, args.prompt), generator=torch.Generator().manual_seed(0))
        mask = torch.ones_like(ids)

        def run_theirs():
            with torch.inference_mode():
                return theirs.generate(ids, attention_mask=mask, max_new_tokens=args.new_tokens, do_sample=False,
                                       pad_token_id=0)

        def run_ours():
            return ours.generate(ids, attention_mask=mask, max_new_tokens=args.new_tokens, do_sample=False,
                                 pad_token_id=0)

        a, b = run_ours(), run_theirs()  # warm-up, and the same tokens from both
        assert a.shape == (1, args.prompt + args.new_tokens), a.shape
        same = torch.equal(a, b)
        t_ours, t_theirs = [], []
        for _ in range(args.repeat):  # alternate, so machine load hits both alike
            timed(run_ours, 1, t_ours)
            timed(run_theirs, 1, t_theirs)

    ours_s, theirs_s = statistics.median(t_ours), statistics.median(t_theirs)
    print(f"GPT-2 {args.size} (random weights, float32, {args.threads} threads), prompt {args.prompt}, "
          f"greedy {args.new_tokens} new tokens with KV cache, median of {args.repeat}:")
    print(f"  identical tokens: {same}")
    print(f"  ours         {ours_s * 1000:8.1f} ms  ({ours_s / args.new_tokens * 1000:.2f} ms/token)")
    print(f"  transformers {theirs_s * 1000:8.1f} ms  ({theirs_s / args.new_tokens * 1000:.2f} ms/token)")
    print(f"  ratio ours/transformers: {ours_s / theirs_s:.2f}x (target ≤ 1.0x)")


if __name__ == "__main__":
    main()
