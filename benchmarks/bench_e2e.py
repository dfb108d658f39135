"""End to end: save() → ready variant with a real worker on real Redis.

- latency: median time from ProductImage.save() to a ready "sketch" variant (N uploads, one at a time);
- product masks: the first job of an opaque upload segments it (``mask_ms`` in the variant's
  timings); a second variant of the same photo (a cut-out requested afterwards) reads the
  stored mask instead (``mask_cached``) and its save→ready time is measured too;
- throughput: variants/s for a batch of uploads, imagegen's worker vs rq's stock forking
  worker running the same job, side by side in one run: ``--rounds`` rounds, the two workers
  alternating, the median of the rounds.

    .venv/bin/python -m benchmarks.bench_e2e [--latency-n 20] [--batch 100] [--rounds 2]
"""
from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from .common import isolated_env, median, setup_django, start, stop, write_results, write_section


def image_bytes(seed: int, size: int = 512) -> bytes:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(c) for c in rng.integers(200, 255, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        box = sorted(rng.integers(0, size, 2)), sorted(rng.integers(0, size, 2))
        draw.ellipse([box[0][0], box[1][0], box[0][1] + 1, box[1][1] + 1], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def upload(product, data: bytes):
    from django.core.files.base import ContentFile

    from shop.catalogue.models import ProductImage

    image = ProductImage(product=product)
    image.image.save("bench.png", ContentFile(data), save=True)
    return image


def wait_ready(ids: set[str], timeout: float = 600) -> None:
    from imagegen.models import Variant

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Variant.objects.filter(object_id__in=ids).exclude(status__in=["ready", "failed"]).count() == 0:
            return
        time.sleep(0.005)
    raise TimeoutError("variants did not finish")


def second_variants(product, n: int) -> dict:
    """The latency uploads' masks (computed by their first job), then one cut-out requested
    for each: its job must find the stored mask."""
    from imagegen import request_variants
    from imagegen.models import Style, Variant
    from shop.catalogue.models import ProductImage

    first = [v.timings.get("mask_ms") for v in Variant.objects.filter(spec_name="sketch") if v.timings.get("mask_cached") is False]
    style, _ = Style.objects.get_or_create(slug="bench-cutout", defaults={"name": "Cut-out", "processor": "cutout"})
    images = list(ProductImage.objects.filter(product=product).order_by("-pk")[:n])
    seconds, cached, mask_ms = [], [], []
    for image in images:
        t0 = time.perf_counter()
        (variant,) = request_variants(image, "image", [style])
        wait_ready({str(image.pk)})
        seconds.append(time.perf_counter() - t0)
        variant.refresh_from_db()
        cached.append(bool(variant.timings.get("mask_cached")))
        mask_ms.append(variant.timings.get("mask_ms", 0))
    return {
        "first_job_mask_ms_median": median(first) if first else None,
        "second_variant_s_median": median(seconds) if seconds else None,
        "second_variant_mask_ms_median": median(mask_ms) if mask_ms else None,
        "second_variant_used_stored_mask": f"{sum(cached)}/{len(cached)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-n", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    env = isolated_env()
    setup_django(env)
    import django_rq

    from shop.catalogue.models import Category, Product

    django_rq.get_connection("imagegen").flushdb()
    product = Product.objects.create(category=Category.objects.create(name="Bench", slug="bench"), name="Bench", slug="bench", price=1)
    logs = Path(env["MEDIA_ROOT"]).parent

    def run_worker(args: list[str]):
        proc = start(args, env, logs / f"{args[0]}.log")
        warm = upload(product, image_bytes(10_000 + len(args)))  # wait until it serves (torch loaded)
        wait_ready({str(warm.pk)}, timeout=120)
        return proc

    results = {}
    # Latency: one upload at a time.
    proc = run_worker(["imagegen_worker"])
    latencies = []
    for i in range(args.latency_n):
        t0 = time.perf_counter()
        image = upload(product, image_bytes(i))
        wait_ready({str(image.pk)})
        latencies.append(time.perf_counter() - t0)
    results["latency_s"] = {"median": median(latencies), "min": min(latencies), "max": max(latencies), "n": len(latencies)}
    results["masks"] = second_variants(product, args.latency_n)

    # Throughput: a batch, imagegen worker vs stock forking rqworker, same job.
    def batch(seed0: int) -> float:
        t0 = time.perf_counter()
        ids = {str(upload(product, image_bytes(seed0 + i)).pk) for i in range(args.batch)}
        wait_ready(ids)
        return args.batch / (time.perf_counter() - t0)

    workers = {"imagegen_worker": ["imagegen_worker"], "rqworker": ["rqworker", "imagegen-high", "imagegen", "imagegen-bulk"]}
    rates: dict[str, list[float]] = {name: [] for name in workers}
    for round_no in range(args.rounds):
        for n, (name, command) in enumerate(workers.items()):
            if not (round_no == 0 and name == "imagegen_worker"):  # the latency run's worker is warm already
                proc = run_worker(command)
            rates[name].append(batch(100_000 * (1 + n) + 10_000 * round_no))
            stop(proc)
    results["rounds"] = {name: [round(r, 3) for r in values] for name, values in rates.items()}
    results["throughput_variants_per_s"] = {k: median(v) for k, v in rates.items()}
    results["batch"] = args.batch
    results["ratio_imagegen_vs_rqworker"] = results["throughput_variants_per_s"]["imagegen_worker"] / results["throughput_variants_per_s"]["rqworker"]
    path = write_results("e2e", results)
    lat, thr = results["latency_s"], results["throughput_variants_per_s"]
    write_section(
        "e2e",
        f"""## End to end: save() → ready variant

`.venv/bin/python -m benchmarks.bench_e2e --latency-n {args.latency_n} --batch {args.batch} --rounds {args.rounds}` (SQLite, local files, real Redis, one worker, 512×512 PNG uploads, the registered "sketch" spec, WebP output). JSON: `{path.relative_to(path.parents[2])}`.

| measure | imagegen worker | stock `rqworker` (forks per job) | ratio |
|---|---|---|---|
| save() → ready, median of {lat['n']} | {lat['median'] * 1000:.0f} ms (min {lat['min'] * 1000:.0f}, max {lat['max'] * 1000:.0f}) | | |
| product mask in an upload's first job (segmentation), median | {_ms(results['masks']['first_job_mask_ms_median'])} | | |
| a second variant of the same photo (cut-out) save→ready, median; its mask read from storage in {results['masks']['second_variant_used_stored_mask']} jobs | {_s_ms(results['masks']['second_variant_s_median'])} (mask {_ms(results['masks']['second_variant_mask_ms_median'])}) | | |
| {args.batch} uploads, variants/s, median of {args.rounds} rounds | {thr['imagegen_worker']:.2f} | {thr['rqworker']:.2f} | {results['ratio_imagegen_vs_rqworker']:.2f}× |
""",
    )
    print(path.read_text())


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _s_ms(value) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f} ms"


if __name__ == "__main__":
    main()
