"""Backdrop GAN benchmark: the default `imagegen_train backdrop` training on the background photos
in ../shared/datasets/backgrounds, its wall-clock and steps/s, the figures `imagegen_evaluate
backdrop` reports (memorisation, diversity, KID), the generation time of a 1600 px backdrop, a
sample grid and real products placed on generated backdrops by the published style.

The engine is used directly (the same trainer, evaluation and `background` processor the
command, the evaluation and the worker run), so no database is needed:

    .venv/bin/python -m benchmarks.bench_backdrop [--steps N] [--threads 2]

The default steps write benchmarks/results/backdrop.json, docs/backdrop-samples.png,
docs/backdrop-products.png and the "backdrop" section of docs/benchmarks.md (about 12 min on 2
idle CPU cores; run it under the CPU lock). Any other --steps (`make bench` runs 300, about 3
min) writes backdrop-short.json and its own section, and leaves the pictures alone.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import time
from pathlib import Path

import torch

from .common import ROOT, median, write_results, write_section

SHARED = ROOT.parent / "shared" / "datasets"
PRODUCTS = ("saleor-blue-hoodie.png", "saleor-beanie-1.png", "saleor-blue-plimsolls-1.png", "saleor-cushion-blue.png")


def load():
    from imagegen.engine.training.backdrop import prepare_backdrops

    folder = SHARED / "backgrounds"
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"}) if folder.is_dir() else []
    if not photos:
        raise SystemExit(f"No photos in {folder}: this benchmark needs ../shared.")
    return prepare_backdrops((p.stem, p.read_bytes()) for p in photos)


def sample_sheet(trainer, data, path) -> None:
    """Per look: the training photo, then four generated 256 px backdrops (different seeds)."""
    from PIL import Image

    from imagegen.engine.training.backdrop import generate
    from imagegen.engine.training.gan import make_grid

    side = 128
    tiles = []
    for k, photo in enumerate(data.photos):
        p = photo.float()[None] / 255
        p = torch.nn.functional.interpolate(p, size=(side, side * p.shape[3] // p.shape[2]), mode="bilinear", antialias=True)[0, :, :, :side]
        tiles.append(p)
        for seed in range(4):
            out = generate(trainer.G_ema, trainer.config, 256, 256, seed, look=k)
            tiles.append(torch.nn.functional.interpolate(out[None], size=(side, side), mode="bilinear", antialias=True)[0])
    grid = make_grid(torch.stack(tiles), columns=5)
    pil = Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype("uint8"))
    pil.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)


def product_sheet(export: bytes, path) -> list[dict]:
    from PIL import Image

    from imagegen.engine import render
    from imagegen.engine.io import decode, to_pil
    from imagegen.engine.training.backdrop import STYLE_PARAMS

    tile, out = 240, []
    names = [n for n in PRODUCTS if (SHARED / "products" / n).is_file()]
    sheet = Image.new("RGB", (tile * len(names), round(tile * 1.25)), "white")
    for i, name in enumerate(names):
        image = decode((SHARED / "products" / name).read_bytes())
        t0 = time.perf_counter()
        result = render(image, "background", STYLE_PARAMS, reference=export, max_size=1600)
        seconds = time.perf_counter() - t0
        out.append({"product": name, "frame": [result.width, result.height], "seconds": round(seconds, 2), "seed": result.info.get("backdrop_seed")})
        pil = to_pil(result)
        pil.thumbnail((tile, round(tile * 1.25)))
        sheet.paste(pil, (i * tile, 0))
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return out


def main() -> None:
    from imagegen.engine.training.backdrop import DEFAULT_STEPS, BackdropConfig, BackdropTrainer, generate
    from imagegen.engine.training.backdrop_eval import evaluate_backdrops, generator_sampler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"default {DEFAULT_STEPS}, as imagegen_train backdrop")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-docs", action="store_true", help="only the JSON file")
    parser.add_argument("--save", metavar="PATH", help="also write the generator (the file a published style keeps) to PATH")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = load()
    config = BackdropConfig(seed=args.seed)
    trainer = BackdropTrainer(config, data, device="cpu")
    t0, cpu0 = time.perf_counter(), time.process_time()
    while trainer.step < args.steps:
        losses = trainer.train_step()
        if trainer.step % 50 == 0 or trainer.step == args.steps:
            print(f"step {trainer.step}/{args.steps} D {losses['loss_d']:.3f} G {losses['loss_g']:.3f} "
                  f"({trainer.step / trainer.seconds:.2f} steps/s)", flush=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0

    t1 = time.perf_counter()
    figures = evaluate_backdrops(generator_sampler(trainer.G_ema, config), data, config)
    eval_seconds = time.perf_counter() - t1
    timings = []
    for seed in range(6):
        t2 = time.perf_counter()
        generate(trainer.G_ema, config, 1280, 1600, seed)
        timings.append(time.perf_counter() - t2)
    buf = io.BytesIO()
    torch.save(trainer.export(), buf)
    if args.save:
        Path(args.save).write_bytes(buf.getvalue())
    full = args.steps == DEFAULT_STEPS
    name = "backdrop" if full else "backdrop-short"
    products = []
    if full and not args.no_docs:
        sample_sheet(trainer, data, ROOT / "docs" / "backdrop-samples.png")
        products = product_sheet(buf.getvalue(), ROOT / "docs" / "backdrop-products.png")
    payload = {
        "config": dataclasses.asdict(config),
        "steps": args.steps,
        "threads": args.threads,
        "photos": data.names,
        "train_seconds": round(trainer.seconds, 1),
        "wall_seconds": round(wall, 1),
        "steps_per_second": round(args.steps / trainer.seconds, 3),
        "cpu_seconds_per_step": round(cpu / args.steps, 3),
        "eval_seconds": round(eval_seconds, 1),
        "generate_1280x1600_seconds": round(median(timings[1:]), 3),
        "weights_bytes": len(buf.getvalue()),
        "products": products,
        "history": trainer.history,
        "figures": figures,
    }
    path = write_results(name, payload)
    print(f"wrote {path}")
    print({k: v for k, v in figures.items() if not isinstance(v, list)})
    if not args.no_docs:
        write_section(name, markdown(payload, full))


def markdown(p: dict, full: bool) -> str:
    f = p["figures"]
    first, last = p["history"][0], p["history"][-1]
    title = "## Generated backdrops (CPU)" if full else f"### Generated backdrops, short budget ({p['steps']} steps, `make bench`)"
    pictures = (
        "Pictures: docs/backdrop-samples.png (each row: a training photo, then four generated backdrops of its look) and\n"
        "docs/backdrop-products.png (products placed by the published style); described in docs/models.md (\"Generated backdrops\")."
        if full else "The pictures in docs/ come from the default run."
    )
    return f"""{title}

`python -m benchmarks.bench_backdrop --steps {p['steps']} --threads {p['threads']}` ({'the default' if full else 'a shorter'} `imagegen_train backdrop`
training, engine only) on the {len(p['photos'])} photos of `../shared/datasets/backgrounds` ({', '.join(p['photos'])}):
{p['steps']} steps of batch {p['config']['batch']} at {p['config']['crop']} px, **{p['train_seconds'] / 60:.1f} min** of training
({p['steps_per_second']:.2f} steps/s, {p['cpu_seconds_per_step']} CPU-seconds a step on {p['threads']} threads; the machine is
shared, so compare CPU-seconds), evaluation {p['eval_seconds']:.0f} s.

| figure | value |
|---|---|
| nearest training crop, median (contrast-normalised; 1 = unrelated texture) | {f['nearest_crop_median']:.3f} |
| a real crop off the grid (what copying scores), median | {f['copy_level_median']:.3f} |
| memorisation threshold (90th percentile of the copy level) | {f['memorisation_threshold']:.3f} |
| share of samples closer than the threshold | {f['memorised_share']:.3f} |
| flagged as memorised | {'yes' if f['memorised'] else 'no'} |
| diversity within a look (mean pairwise thumbnail RMS) | {f['diversity']:.3f} (real crops {f['diversity_real']:.3f}) |
| KID ({f['embedding']}), samples vs real crops | {f['kid']:.4f} (floor, real vs real: {f['kid_real_floor']:.4f}) |
| 1280x1600 backdrop generated on the CPU | {p['generate_1280x1600_seconds']:.2f} s |
| weights file | {p['weights_bytes'] / 1e6:.2f} MB |

Losses (mean over {p['config']['log_every']} steps): D {first['loss_d']:.3f} -> {last['loss_d']:.3f}, G {first['loss_g']:.3f} -> {last['loss_g']:.3f},
D accuracy {first['d_accuracy']:.2f} -> {last['d_accuracy']:.2f}. {f['generated']} samples of {f['crop']} px against
{f['reference_crops']} training crops (stride {f['grid_stride']} px, both training scales).
{pictures}
"""


if __name__ == "__main__":
    main()
