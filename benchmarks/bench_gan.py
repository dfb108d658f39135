"""Catalogue GAN benchmark: the article's baseline (DCGAN + BCE) against the `strong` preset
(FastGAN + hinge + DiffAugment + reconstruction + EMA) at EQUAL WALL-CLOCK time, 64 px,
conditional on category, on the Saleor product photos beside the project
(../shared/datasets/products, if present) plus demo-catalogue drawings (shop/catalogue/drawing.py).

Both presets train at the same time, each in its own process with one torch thread, for the
same number of minutes (so a 2-core machine gives each one core), then both are evaluated
(KID etc. in the randconv64-v1 embedding against the held-out images) and drawn side by side
in docs/gan-baseline-vs-strong.png, one row per category.

    .venv/bin/python -m benchmarks.bench_gan --minutes 30      # the documented comparison (~32 min)
    .venv/bin/python -m benchmarks.bench_gan --minutes 1.5     # make bench's short version (~3 min)

Writes benchmarks/results/gan.json, docs/gan-baseline-vs-strong.png and the "gan" section of
docs/benchmarks.md; a run under 10 minutes writes benchmarks/results/gan-short.json and its
picture under var/bench-gan/gan-short/ instead (the docs too with --doc).
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from .common import ROOT, write_results, write_section

PRODUCTS = ROOT.parent / "shared" / "datasets" / "products"
CACHE = ROOT / "var" / "cache" / "bench-training"
WORK = ROOT / "var" / "bench-gan"
PICTURE = ROOT / "docs" / "gan-baseline-vs-strong.png"  # the documented (>= 10 min) run's; shorter runs: WORK/<name>/
PRESETS = ("baseline", "strong")

# Saleor file name -> shop category (the names the demo catalogue uses where they overlap).
PHOTO_CATEGORIES = (
    ("hoodie", "Hoodies"), ("tee", "T-Shirts"), ("shirt", "T-Shirts"), ("beanie", "Hats"),
    ("plimsolls", "Sneakers"), ("dash-force", "Sneakers"), ("cushion", "Cushions"),
)


def photo_category(name: str) -> str:
    return next((category for word, category in PHOTO_CATEGORIES if word in name), "Other")


def catalogue(demo: int, demo_size: int):
    """CatalogueItems labelled by category: the Saleor photos and ``demo`` drawings."""
    from imagegen.engine.training.data import CatalogueItem
    from shop.catalogue.drawing import demo_catalogue, draw_product

    items = []
    photos = sorted(PRODUCTS.glob("*.png")) if PRODUCTS.is_dir() else []
    for path in photos:
        items.append(CatalogueItem(f"saleor/{path.name}", path.read_bytes(), photo_category(path.name)))
    for entry in demo_catalogue(demo):
        image = draw_product(entry["kind"], color=entry["color"], size=demo_size, transparent=entry["transparent"], seed=entry["seed"])
        buf = io.BytesIO()
        image.save(buf, "PNG")
        items.append(CatalogueItem(f"demo/{entry['name']}", buf.getvalue(), entry["category"]))
    return items, len(photos)


def dataset(args):
    from imagegen.engine.training.data import DirectoryCache, prepare

    items, photos = catalogue(args.demo, args.demo_size)
    return prepare(items, size=args.size, min_side=args.size, cache=DirectoryCache(CACHE)), photos


def config_for(preset: str, args):
    from imagegen.engine.training.gan import GanConfig

    widths = {"baseline": args.baseline_channels, "strong": args.strong_channels}
    return GanConfig.from_preset(preset, size=args.size, batch=args.batch, base_channels=widths[preset], conditional=True, seed=args.seed, log_every=25)


def run_name(args) -> str:
    return "gan" if args.minutes >= 10 else "gan-short"


def workdir(args) -> Path:
    return WORK / run_name(args)


def train_one(preset: str, args) -> None:
    """One preset for ``args.minutes`` of wall-clock time, in this process, one thread."""
    from imagegen.engine.training.base import save_checkpoint
    from imagegen.engine.training.gan import GanTrainer

    torch.set_num_threads(1)
    data, _ = dataset(args)
    trainer = GanTrainer(config_for(preset, args), data.train(), device="cpu")
    budget = args.minutes * 60
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < budget:
        trainer.train_step()
    wall = time.perf_counter() - t0
    workdir(args).mkdir(parents=True, exist_ok=True)
    (workdir(args) / f"{preset}.pt").write_bytes(save_checkpoint(trainer.state_dict()))
    (workdir(args) / f"{preset}.json").write_text(json.dumps({"steps": trainer.step, "wall_seconds": round(wall, 1), "history": trainer.history}))
    print(f"{preset}: {trainer.step} steps in {wall:.0f} s", flush=True)


def load(preset: str, args, data):
    from imagegen.engine.training.base import load_checkpoint
    from imagegen.engine.training.gan import GanTrainer

    trainer = GanTrainer(config_for(preset, args), data.train(), device="cpu")
    trainer.load_state_dict(load_checkpoint((workdir(args) / f"{preset}.pt").read_bytes()))
    return trainer


def picture(trainers: dict, data, categories: list[str], path: Path, per_preset: int = 6, reals: int = 2) -> None:
    """Rows = categories; columns: `reals` training images, then baseline, then strong samples
    (the same z for both presets), each at its native 64 px, with labels."""
    from PIL import Image, ImageDraw

    size = data.images.shape[-1]
    pad, label_w, head_h = 2, 84, 16
    cols = reals + 2 * per_preset
    width = label_w + cols * (size + pad) + 2 * pad
    sheet = Image.new("RGB", (width, head_h + len(categories) * (size + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    x_base = label_w + reals * (size + pad) + pad
    draw.text((label_w, 2), "real", fill="black")
    draw.text((x_base, 2), "baseline (article: DCGAN + BCE)", fill="black")
    draw.text((x_base + per_preset * (size + pad) + pad, 2), "strong (FastGAN + DiffAugment + EMA)", fill="black")
    train = data.train()
    z = torch.randn(per_preset, config_for("baseline", ARGS).z_dim, generator=torch.Generator().manual_seed(7))
    for row, category in enumerate(categories):
        y = head_h + row * (size + pad)
        draw.text((4, y + size // 2 - 6), category, fill="black")
        index = data.label_names.index(category)
        tiles = [train.floats()[i] for i in (train.labels == index).nonzero().flatten()[:reals].tolist()]
        tiles += [torch.ones(3, size, size)] * (reals - len(tiles))
        labels = torch.full((per_preset,), index, dtype=torch.long)
        for preset in PRESETS:
            tiles += list(trainers[preset].sample(z, labels))
        for col, tile in enumerate(tiles):
            x = label_w + col * (size + pad) + (pad if col >= reals else 0) + (pad if col >= reals + per_preset else 0)
            array = (tile.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype("uint8")
            sheet.paste(Image.fromarray(array), (x, y))
    # 256 colours keep the sheet under 400 KB; the noisy samples defeat plain PNG compression.
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def markdown(result: dict) -> str:
    b, s = result["presets"]["baseline"], result["presets"]["strong"]
    lines = [
        "## Catalogue GAN: baseline vs strong at equal wall-clock time (CPU)",
        "",
        f"`{result['command']}` — both presets trained at the same time, one process and one torch thread each, "
        f"{result['minutes']} minutes each, on {result['photos']} Saleor product photos + {result['demo']} demo drawings, "
        f"{result['size']} px, conditional on category ({', '.join(result['categories'])}), batch {result['batch']}. "
        f"{result['train_images']} training and {result['held_out_images']} held-out images. JSON: `benchmarks/results/gan.json`. "
        f"{result['machine_note']}",
        "",
        f"Embedding `randconv64-v1` (a fixed random CNN, not Inception: not comparable with published FID/KID); "
        f"{result['generated']} generated images vs the held-out images; lower is better for KID / Frechet / SWD. "
        f"KID of the held-out against the training images (the floor): {result['kid_real_floor']:.4g}.",
        "",
        "| figure | baseline (article: DCGAN + BCE) | strong (FastGAN + hinge + DiffAugment + recon + EMA) |",
        "|---|---|---|",
        f"| steps in {result['minutes']} min | {b['steps']} | {s['steps']} |",
        f"| steps/s (one thread) | {b['steps_per_second']:.2f} | {s['steps_per_second']:.2f} |",
        f"| parameters G / D | {b['params_g'] / 1e6:.2f} M / {b['params_d'] / 1e6:.2f} M | {s['params_g'] / 1e6:.2f} M / {s['params_d'] / 1e6:.2f} M |",
    ]
    for key, label in (("kid", "KID"), ("frechet", "Frechet distance"), ("swd", "sliced Wasserstein"), ("precision", "precision (k=3)"),
                       ("recall", "recall (k=3)"), ("nearest_train_median", "median distance to nearest training image"),
                       ("memorised_share", "share of samples < 0.02 (copies)")):
        lines.append(f"| {label} | {b[key]:.4g} | {s[key]:.4g} |")
    lines += [
        "",
        "![baseline vs strong](gan-baseline-vs-strong.png)",
        "",
        "Rows: categories with at least two training images; columns: two training images, then six baseline and six strong "
        "samples of that category (the same noise for both presets), from the EMA generator for strong.",
        "",
        result.get("by_eye", ""),
        "",
        "128 px works (tested on tiny networks on the CPU) but no GPU was available, so there are no GPU or 128 px figures yet; "
        "the reference points are the paper's few-shot FIDs at 256 px from ~100 images (FastGAN 41 / 27 / 10 on Obama / grumpy "
        "cat / panda against 80 / 49 / 34 for StyleGAN2), which this embedding cannot be compared with. The GAN rows of the "
        "training section were measured at equal steps with the previous strong preset (DCGAN + spectral norm).",
    ]
    return "\n".join(lines)


def compare(args) -> None:
    workdir(args).mkdir(parents=True, exist_ok=True)
    command = ".venv/bin/python -m benchmarks.bench_gan " + " ".join(sys.argv[1:])
    data, photos = dataset(args)  # prepares (and caches) before the clocks start
    if not args.evaluate_only:
        children = [
            subprocess.Popen([sys.executable, "-m", "benchmarks.bench_gan", "--train-one", preset, *sys.argv[1:]], cwd=ROOT)
            for preset in PRESETS
        ]
        if any(child.wait() for child in children):
            sys.exit("a training process failed")
    torch.set_num_threads(2)
    trainers = {preset: load(preset, args, data) for preset in PRESETS}
    from imagegen.engine.training.evaluate import evaluate_gan

    presets = {}
    for preset, trainer in trainers.items():
        log = json.loads((workdir(args) / f"{preset}.json").read_text())
        figures = evaluate_gan(trainer, data, samples=args.samples, seed=1000 + args.seed)
        presets[preset] = {
            "steps": log["steps"], "wall_seconds": log["wall_seconds"], "steps_per_second": log["steps"] / log["wall_seconds"],
            "params_g": sum(p.numel() for p in trainer.G.parameters()), "params_d": sum(p.numel() for p in trainer.D.parameters()),
            "config": asdict(trainer.config), "history": log["history"], **figures,
        }
        print(f"{preset}: {log['steps']} steps, KID {figures['kid']:.4f}, FD {figures['frechet']:.1f}", flush=True)
    counts = torch.bincount(data.train().labels, minlength=len(data.label_names)).tolist()
    categories = [name for name, count in zip(data.label_names, counts) if count >= 2]
    name = run_name(args)
    path = PICTURE if name == "gan" or args.doc else workdir(args) / "baseline-vs-strong.png"
    picture(trainers, data, categories, path)
    first = presets["baseline"]
    result = {
        "command": command, "minutes": args.minutes, "size": args.size, "batch": args.batch, "photos": photos, "demo": args.demo,
        "categories": categories, "train_images": first["train_images"], "held_out_images": first["held_out_images"],
        "generated": args.samples, "kid_real_floor": first["kid_real_floor"], "dataset": data.report.summary(),
        "machine_note": args.note, "by_eye": args.by_eye, "presets": presets,
    }
    written = write_results(name, result)
    if name == "gan" or args.doc:
        write_section("gan", markdown(result))
    print(f"wrote {written} and {path}")


ARGS: argparse.Namespace


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget of each preset")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--baseline-channels", type=int, default=32)
    parser.add_argument("--strong-channels", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo", type=int, default=48, help="demo-catalogue products to draw")
    parser.add_argument("--demo-size", type=int, default=512)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--train-one", choices=PRESETS, help=argparse.SUPPRESS)
    parser.add_argument("--evaluate-only", action="store_true", help="evaluate the checkpoints of the last run again")
    parser.add_argument("--doc", action="store_true", help="write the docs section even for a short run")
    parser.add_argument("--note", default="", help="what else the machine was doing (goes into the docs)")
    parser.add_argument("--by-eye", default="", help="what the picture shows (goes into the docs)")
    parser.add_argument("--from-json", action="store_true", help="only rewrite the docs section from benchmarks/results/gan.json "
                        "(with --by-eye / --note replacing the stored texts when given)")
    ARGS = parser.parse_args()
    if ARGS.from_json:
        from .common import RESULTS

        result = json.loads((RESULTS / "gan.json").read_text())
        result["by_eye"] = ARGS.by_eye or result.get("by_eye", "")
        result["machine_note"] = ARGS.note or result.get("machine_note", "")
        write_results("gan", result)
        write_section("gan", markdown(result))
        return
    if ARGS.train_one:
        train_one(ARGS.train_one, ARGS)
    else:
        compare(ARGS)


if __name__ == "__main__":
    main()
