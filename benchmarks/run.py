"""`make bench`: every benchmark with settings that finish in about 35 minutes on 2 CPU cores (short training budgets; each long run is named beside its entry).

Each writes benchmarks/results/<name>.json and its section of docs/benchmarks.md.
    .venv/bin/python -m benchmarks.run [--only e2e processors ...]
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time

# name: (module, arguments) — modules that are absent (their feature not installed) are skipped.
# Not in the suite: bench_training, bench_style_options --compile (compiles for minutes),
# and the GPU runs (bench_style --gpu-only, bench_style_options --device cuda).
SUITE = {
    "e2e": ("benchmarks.bench_e2e", ["--latency-n", "20", "--batch", "100", "--rounds", "2"]),
    "processors": ("benchmarks.bench_processors", ["--repeats", "5"]),
    "style": ("benchmarks.bench_style", []),
    # every network in the worker's default configuration vs onnxruntime, and the cold start
    "networks": ("benchmarks.bench_networks", ["--repeats", "7", "--cold", "3"]),
    "masks": ("benchmarks.bench_masks", []),
    # IoU built-in vs fine-tuned at a short budget (about 4 min); the 1000-step figures of the
    # default command: `python -m benchmarks.bench_segment` alone (about 20 min)
    "segment": ("benchmarks.bench_segment", ["--steps", "150"]),
    # 4x enhancement vs bicubic on held-out product photos at a short budget (about 3 min); the
    # default command's figures (5000 steps, ~17 min) and the adversarial option's PSNR cost:
    # `python -m benchmarks.bench_enhance` alone (about 25 min)
    "enhance": ("benchmarks.bench_enhance", ["--steps", "600", "--evaluate-at", "0.5", "--adversarial-steps", "0", "--name", "enhance-short"]),
    # backdrop GAN at a short budget (about 3 min; backdrop-short.json); the default 1500-step
    # figures and pictures: `python -m benchmarks.bench_backdrop` alone (about 12 min)
    "backdrop": ("benchmarks.bench_backdrop", ["--steps", "300"]),
    # catalogue GAN, baseline vs strong at equal wall-clock, 1.5 min each side by side (about
    # 3 min; gan-short.json); the documented 30-minute comparison and picture:
    # `python -m benchmarks.bench_gan --minutes 30` alone (about 33 min)
    "gan": ("benchmarks.bench_gan", ["--minutes", "1.5"]),
    "style-options": ("benchmarks.bench_style_options", ["--repeats", "3"]),
    "batching": ("benchmarks.bench_batching", ["--uploads", "16", "--rounds", "2"]),
    "api": ("benchmarks.bench_api", []),
    "storage-urls": ("benchmarks.bench_storage_urls", ["--urls", "2000", "--repeats", "7"]),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="+", choices=sorted(SUITE))
    args = parser.parse_args()
    failed = []
    for name in args.only or SUITE:
        module, argv = SUITE[name]
        if importlib.util.find_spec(module) is None:
            print(f"== {name}: {module} not present, skipped")
            continue
        print(f"== {name}: python -m {module} {' '.join(argv)}", flush=True)
        t0 = time.perf_counter()
        # Separate processes: each benchmark sets up Django and its own database.
        rc = subprocess.call([sys.executable, "-m", module, *argv])
        print(f"== {name}: {'ok' if rc == 0 else f'FAILED ({rc})'} in {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
