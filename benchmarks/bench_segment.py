"""Segmentation fine-tuning benchmark: the built-in U²-Net-p vs the same network fine-tuned on
the Saleor transparent product photos (../shared/datasets/products) composited on the
background photos (../shared/datasets/backgrounds), IoU and alpha MAE on the held-out
products, on white and on every background photo.

The engine is used directly (the same trainer and evaluation `imagegen_train segment` and
`imagegen_evaluate segment` run), so no database is needed:

    .venv/bin/python -m benchmarks.bench_segment [--steps 300] [--size 224] [--batch 4] [--threads 2]

Writes benchmarks/results/segment.json, docs/segment-samples.png and the "segment" section of
docs/benchmarks.md. `make bench` runs it at 150 steps (about 4 min); the default 1000 steps take about 20 min on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from .common import ROOT, write_results, write_section

SHARED = ROOT.parent / "shared" / "datasets"


def load(holdout: float):
    from imagegen.engine.training.data import CatalogueItem
    from imagegen.engine.training.segment_data import prepare_backgrounds, prepare_segment

    products = sorted((SHARED / "products").glob("*.png"))
    if not products:
        raise SystemExit(f"No products in {SHARED / 'products'}: this benchmark needs ../shared.")
    data = prepare_segment((CatalogueItem(f"saleor/{p.name}", p.read_bytes()) for p in products), holdout=holdout)
    backgrounds = sorted(p for p in (SHARED / "backgrounds").iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    data.backgrounds, data.background_names = prepare_backgrounds((p.stem, p.read_bytes()) for p in backgrounds)
    return data


def main() -> None:
    from imagegen.engine.training.segment import DEFAULT_STEPS, SegmentConfig, SegmentTrainer, builtin_segmenter
    from imagegen.engine.training.segment_eval import evaluate_segmenters

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"default {DEFAULT_STEPS}, as imagegen_train segment")
    parser.add_argument("--size", type=int, default=SegmentConfig.size)
    parser.add_argument("--batch", type=int, default=SegmentConfig.batch)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-docs", action="store_true", help="only the JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = args.steps

    data = load(args.holdout)
    config = SegmentConfig(size=args.size, batch=args.batch, seed=args.seed, log_every=10)
    trainer = SegmentTrainer(config, data.train(), device="cpu")
    t0, cpu0 = time.perf_counter(), time.process_time()
    while trainer.step < steps:
        losses = trainer.train_step()
        if trainer.step % 10 == 0 or trainer.step == steps:
            rate = trainer.step / trainer.seconds
            print(f"step {trainer.step}/{steps} loss {losses['loss']:.4f} ({rate:.3f} steps/s)", flush=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0

    t1 = time.perf_counter()
    figures = evaluate_segmenters({"builtin": builtin_segmenter(), "finetuned": trainer.net}, data.held_out())
    eval_seconds = time.perf_counter() - t1

    grid = (trainer.sample_grid().clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    from PIL import Image

    Image.fromarray(grid).save(ROOT / "docs" / "segment-samples.png")
    payload = {
        "config": dataclasses.asdict(config),
        "steps": steps,
        "threads": args.threads,
        "train_images": len(data.train()),
        "held_out": data.held_out().keys,
        "train_seconds": round(trainer.seconds, 1),
        "wall_seconds": round(wall, 1),
        "steps_per_second": round(steps / trainer.seconds, 4),
        # CPU seconds per step over the threads: what a step costs on an idle machine of that many cores
        "cpu_seconds_per_step": round(cpu / steps, 2),
        "eval_seconds": round(eval_seconds, 1),
        "history": trainer.history,
        "figures": figures,
    }
    path = write_results("segment", payload)
    print(f"wrote {path}")
    if not args.no_docs:
        write_section("segment", markdown(payload))
    for name in ("builtin", "finetuned"):
        f = figures[name]
        print(name, {k: round(v["iou"], 4) for k, v in f.items() if isinstance(v, dict) and "iou" in v}, "min photo", round(f["photo"]["iou_min"], 3))


def markdown(p: dict) -> str:
    f = p["figures"]
    rows = []
    for kind in ("white", "photo"):
        for name in ("builtin", "finetuned"):
            m = f[name][kind]
            rows.append(f"| {kind} | {name} | {m['iou']:.3f} | {m['iou_min']:.3f} | {m['mae']:.4f} | {m['images']} |")
    backgrounds = " | ".join(f"{b}" for b in f["builtin"]["per_background_iou"])
    per_bg = "\n".join(
        f"| {name} | " + " | ".join(f"{v:.3f}" for v in f[name]["per_background_iou"].values()) + " |" for name in ("builtin", "finetuned")
    )
    c = p["config"]
    return f"""## Segmentation fine-tuning (CPU)

`python -m benchmarks.bench_segment --steps {p['steps']} --size {c['size']} --batch {c['batch']} --threads {p['threads']}`:
U²-Net-p fine-tuned on {p['train_images']} Saleor transparent product photos composited on the 8 background photos
(`../shared/datasets/backgrounds`) and procedural backgrounds; evaluated on the {f['held_out_images']} held-out products
(split by content hash), each on white and on every background photo (the product filling 85% of the frame, fixed seed),
through the production path (320 px network + guided filter to {f['eval_size']} px). IoU at mask > 0.5; MAE of the soft mask
against the alpha. The background photos are the ones used in training (the products are not); see docs/models.md.

| background | network | mean IoU | min IoU | alpha MAE | images |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Per background photo (mean IoU over the held-out products):

| network | {backgrounds} |
|---|{'---|' * len(f['builtin']['per_background_iou'])}
{per_bg}

Training: {p['steps']} steps of batch {c['batch']} at {c['size']} px, {p['steps_per_second']:.3f} steps/s,
{p['train_seconds'] / 60:.1f} min of training on {p['threads']} threads ({p.get('cpu_seconds_per_step', '?')} CPU-seconds a step; the box is
shared with other jobs, so compare CPU-seconds), evaluation {p['eval_seconds']:.0f} s.
Samples (input, built-in, fine-tuned, truth): docs/segment-samples.png. The default command (1000 steps) trained on 6 of the
photos and evaluated on all 8, two of them unseen, is in docs/models.md ("Segmentation fine-tuning").
"""


if __name__ == "__main__":
    main()
