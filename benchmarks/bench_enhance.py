"""Enhancement benchmark: the default 4x enhancer against bicubic and Lanczos on product
photos it never saw, at several step budgets, and the adversarial option's PSNR cost.

The engine trainer and evaluation that `imagegen_train enhance` and `imagegen_evaluate
enhance` run, with the command's default config (EnhanceConfig(), DEFAULT_STEPS), on the
Saleor product photos beside the project (../shared/datasets/products, composited on white
as the catalogue loader does; hold-out by content hash, 20 %, as the command does). No
database. The usual protocol: high-resolution truth, 4x antialiased bicubic reduction to
8 bits, PSNR/SSIM on Y (BT.601) with a 4 px border shaved.

    .venv/bin/python -m benchmarks.bench_enhance                 # the full default run (~17 min) + the adversarial pair
    .venv/bin/python -m benchmarks.bench_enhance --steps 600 --adversarial-steps 0 --name enhance-short   # `make bench`'s entry

Writes benchmarks/results/<name>.json and the <name> section of docs/benchmarks.md; the full
run (name "enhance") also docs/enhance-crops.png (input, bicubic, network, truth on held-out
photos).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import torch

from .common import ROOT, write_results, write_section

PRODUCTS = ROOT.parent / "shared" / "datasets" / "products"
CACHE = ROOT / "var" / "cache" / "bench-training"
CROPS = ROOT / "docs" / "enhance-crops.png"


def load_photos(image_size: int, demo: int):
    from imagegen.engine.training.data import CatalogueItem, DirectoryCache, prepare

    items = [CatalogueItem(f"saleor/{p.name}", p.read_bytes(), "photo") for p in sorted(PRODUCTS.glob("*.png"))]
    if demo:
        import io

        from shop.catalogue.drawing import demo_catalogue, draw_product

        for entry in demo_catalogue(demo):
            image = draw_product(entry["kind"], color=entry["color"], size=512, transparent=entry["transparent"], seed=entry["seed"])
            buf = io.BytesIO()
            image.save(buf, "PNG")
            items.append(CatalogueItem(f"demo/{entry['name']}", buf.getvalue(), entry["category"]))
    if not items:
        sys.exit(f"{PRODUCTS} not found and --demo 0: nothing to train on")
    return prepare(items, size=image_size, min_side=image_size // 2, cache=DirectoryCache(CACHE))


def _figures(evaluation: dict) -> dict:
    net, bic = evaluation["gan"], evaluation["bicubic"]
    return {
        "network": net, "bicubic": bic, "lanczos": evaluation["lanczos"],
        "gain_psnr_y": round(net["psnr_y"] - bic["psnr_y"], 3), "gain_ssim_y": round(net["ssim_y"] - bic["ssim_y"], 4),
    }


def train_and_evaluate(config, data, steps: int, evaluate_at: list[int], label: str) -> tuple[object, dict]:
    """Train ``steps`` steps, evaluating on the held-out photos at each step of ``evaluate_at``
    (evaluation time is not counted as training time)."""
    from imagegen.engine.training.enhance import EnhanceTrainer
    from imagegen.engine.training.evaluate import evaluate_enhance

    trainer = EnhanceTrainer(config, data.train(), device="cpu")
    points = []
    wall = cpu = 0.0
    load_before = os.getloadavg()
    for target in sorted(set(evaluate_at) | {steps}):
        w0, c0 = time.perf_counter(), time.process_time()
        while trainer.step < target:
            trainer.train_step()
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        figures = _figures(evaluate_enhance(trainer, data))
        points.append({"step": trainer.step, "train_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), **figures})
        print(f"{label} step {trainer.step}: {figures['network']['psnr_y']:.2f} dB vs bicubic {figures['bicubic']['psnr_y']:.2f} "
              f"({figures['gain_psnr_y']:+.2f} dB, SSIM-Y {figures['gain_ssim_y']:+.4f}); {wall:.0f} s wall, {cpu:.0f} s CPU, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    last = trainer.history[-1] if trainer.history else {}
    first = trainer.history[0] if trainer.history else {}
    return trainer, {
        "label": label, "config": dataclasses.asdict(config), "steps": steps, "train_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
        "steps_per_second": round(steps / wall, 2), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()], "loss_first": first.get("loss_pixel"), "loss_last": last.get("loss_pixel"),
        "points": points,
    }


def render_crops(trainer, data, path, *, crop: int = 64) -> None:
    """Per held-out photo, one row: input (nearest), bicubic, network, truth, of the ``crop`` px
    square where bicubic misses most (largest mean |truth - bicubic|: where enhancing matters),
    shown at 2x so pixels are visible, on a grey grid."""
    import torch.nn.functional as F
    from PIL import Image as PILImage

    from imagegen.engine.training.degrade import EVAL_DEGRADATION, degrade, upscale_pil

    tiles = []
    for hr in data.held_out().floats()[:4]:
        low = degrade(hr, **EVAL_DEGRADATION)
        bicubic = upscale_pil(low, "bicubic")
        outputs = [F.interpolate(low[None], scale_factor=4, mode="nearest")[0], bicubic, trainer.enhance(low[None])[0], hr]
        score = F.avg_pool2d((hr - bicubic).abs().mean(0)[None, None], crop, stride=4)
        y, x = divmod(int(score.flatten().argmax()), score.shape[-1])
        y, x = y * 4, x * 4
        tiles.append([F.interpolate(o[None, :, y : y + crop, x : x + crop].clamp(0, 1), scale_factor=2, mode="nearest")[0] for o in outputs])
    side, pad = 2 * crop, 4
    grid = torch.full((3, len(tiles) * (side + pad) + pad, 4 * (side + pad) + pad), 0.55)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            grid[:, pad + r * (side + pad) : pad + r * (side + pad) + side, pad + c * (side + pad) : pad + c * (side + pad) + side] = tile
    array = (grid.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    PILImage.fromarray(array).save(path, optimize=True)


def markdown(result: dict) -> str:
    main, cfg = result["default"], result["default"]["config"]
    lines = [
        "## Enhancement 4x (CPU)" + ("" if result["name"] == "enhance" else f": short budget ({main['steps']} steps, `make bench`)"),
        "",
        f"`{result['command']}`: the engine trainer with `imagegen_train enhance`'s defaults (`EnhanceConfig()`, "
        f"{result['default_steps']} steps), {result['torch_threads']} torch threads, on {result['train_images']} product photos "
        f"(../shared/datasets/products, composited on white, {cfg['image_size']} px), evaluated on the {result['held_out_images']} "
        "held-out photos it never saw (20 % by content hash, as the command splits). Protocol: 4x antialiased bicubic reduction "
        "to 8 bits, PSNR and SSIM on Y (BT.601), data range 1.0, 4 px border shaved. JSON: `benchmarks/results/enhance.json`.",
        "",
        f"Default network: `{cfg['arch']}` ({result['parameters']:,} parameters, {cfg['channels']} channels x {cfg['blocks']} blocks), "
        f"{cfg['loss']} loss, Adam {cfg['lr_g']:g} cosine to {cfg['lr_g'] * cfg['lr_floor']:g}, crops {cfg['size']} px x {cfg['batch']}, "
        f"adversarial weight {cfg['adv_weight']:g}.",
        "",
        "| step | train wall s | train CPU s | network PSNR-Y | bicubic PSNR-Y | Lanczos PSNR-Y | gain dB | network SSIM-Y | bicubic SSIM-Y |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in main["points"]:
        lines.append(f"| {p['step']} | {p['train_seconds']:.0f} | {p['cpu_seconds']:.0f} | {p['network']['psnr_y']:.2f} | {p['bicubic']['psnr_y']:.2f} | "
                     f"{p['lanczos']['psnr_y']:.2f} | {p['gain_psnr_y']:+.2f} | {p['network']['ssim_y']:.4f} | {p['bicubic']['ssim_y']:.4f} |")
    lines += [
        "",
        f"{main['steps_per_second']} steps/s over the run ({main['train_seconds']:.0f} s of training, {main['cpu_seconds']:.0f} s of CPU time; "
        f"load average {main['load_average_before'][0]} before, {main['load_average_after'][0]} after — other work shared the 2 cores "
        "when it is above 2). Checkpoints of one run: the learning rate is still high at the earlier ones, a run whose whole "
        "budget is that short (its cosine ends there) does a little better. No GPU was available: GPU figures are not measured.",
    ]
    if "adversarial" in result:
        a, f = result["adversarial"], result["faithful_short"]
        ap, fp = a["points"][-1], f["points"][-1]
        lines += [
            "",
            f"**Adversarial option** (`--adversarial`: + {a['config']['adv_weight']:g} x patch-GAN loss from step {a['config']['adv_start']}), "
            f"against the faithful default at the same budget ({a['steps']} steps, both with the cosine over that budget):",
            "",
            "| run | PSNR-Y | SSIM-Y | gain over bicubic dB | steps/s |",
            "|---|---|---|---|---|",
            f"| faithful (default) | {fp['network']['psnr_y']:.2f} | {fp['network']['ssim_y']:.4f} | {fp['gain_psnr_y']:+.2f} | {f['steps_per_second']} |",
            f"| adversarial | {ap['network']['psnr_y']:.2f} | {ap['network']['ssim_y']:.4f} | {ap['gain_psnr_y']:+.2f} | {a['steps_per_second']} |",
            "",
            f"PSNR cost of the adversarial stage: {ap['network']['psnr_y'] - fp['network']['psnr_y']:+.2f} dB PSNR-Y "
            f"({ap['network']['ssim_y'] - fp['network']['ssim_y']:+.4f} SSIM-Y).",
        ]
    if result.get("crops"):
        lines += ["", f"Crops: `{result['crops']}` (rows: held-out photos; columns: input nearest-upscaled, bicubic, network, truth)."]
    if result.get("notes"):  # what was seen, written after looking (kept in the JSON)
        lines += ["", result["notes"]]
    return "\n".join(lines)


def main() -> None:
    from imagegen.engine.training.enhance import DEFAULT_STEPS, SHARP, EnhanceConfig

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"budget of the default run (default {DEFAULT_STEPS}, the command's)")
    parser.add_argument("--evaluate-at", type=float, nargs="+", default=[0.25, 0.5], help="extra evaluations, as shares of --steps")
    parser.add_argument("--adversarial-steps", type=int, default=1200, help="budget of the faithful/adversarial pair (0: skip)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--demo", type=int, default=0, help="also train on this many demo-catalogue drawings")
    parser.add_argument("--name", default="enhance", help="results file and docs section (the short `make bench` run: enhance-short)")
    parser.add_argument("--no-write", action="store_true", help="print only (exploration)")
    parser.add_argument("--from-json", action="store_true", help="only rewrite the docs section from benchmarks/results/<name>.json")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="exploration: override config fields")
    args = parser.parse_args()
    if args.from_json:
        import json

        from .common import RESULTS

        write_section(args.name, markdown(json.loads((RESULTS / f"{args.name}.json").read_text())))
        return
    torch.set_num_threads(args.threads)
    overrides = {k: type(getattr(EnhanceConfig(), k))(v) for k, v in (s.split("=", 1) for s in args.set)}
    config = EnhanceConfig(**{**overrides, "schedule": args.steps})
    data = load_photos(config.image_size, args.demo)
    print(f"{len(data.train())} train, {len(data.held_out())} held-out images; {torch.get_num_threads()} threads", flush=True)
    command = ".venv/bin/python -m benchmarks.bench_enhance " + " ".join(sys.argv[1:])
    result = {"name": args.name, "command": command.strip(), "torch_threads": torch.get_num_threads(), "default_steps": DEFAULT_STEPS,
              "train_images": len(data.train()), "held_out_images": len(data.held_out()), "dataset": data.report.summary()}
    trainer, result["default"] = train_and_evaluate(config, data, args.steps, [round(args.steps * f) for f in args.evaluate_at], "default")
    result["parameters"] = sum(p.numel() for p in trainer.G.parameters())
    if not args.no_write and args.name == "enhance":
        render_crops(trainer, data, CROPS)
        result["crops"] = str(CROPS.relative_to(ROOT))
    if args.adversarial_steps:
        n = args.adversarial_steps
        short = dataclasses.replace(config, schedule=n)
        _, result["faithful_short"] = train_and_evaluate(short, data, n, [], "faithful")
        sharp = dataclasses.replace(short, **SHARP, adv_start=n // 4)
        _, result["adversarial"] = train_and_evaluate(sharp, data, n, [], "adversarial")
    if args.no_write:
        return
    path = write_results(args.name, result)
    write_section(args.name, markdown(result))
    print(f"wrote {path} and the {args.name} section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
