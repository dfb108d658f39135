"""API and storefront under a bounded loopback load, served by gunicorn.

A catalogue of ready, published variants is written straight into an isolated database (rows
and real files, no worker needed); gunicorn serves it on 127.0.0.1; each endpoint gets
``--rounds`` rounds of ``--duration`` seconds from ``--connections`` connections (wrk when
installed, else Python threads), the endpoints interleaved so they share the machine's state;
figures are medians over the rounds. Queries per request are counted in-process with Django's
test client (anonymous, like the load).

    .venv/bin/python -m benchmarks.bench_api [--products 50 --images-per-product 2 --duration 4 --rounds 3]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path

from .common import isolated_env, median, setup_django, write_results, write_section
from .loadkit import WebServer, free_redis_db, percentiles, product_png, run_load

ENDPOINTS = {
    "variant list (100 per page)": "list",
    "variant detail": "detail",
    "storefront product list `/`": "storefront",
}


def seed(products: int, images_per_product: int) -> list[int]:
    """Products with images and two ready, published variants per image (sketch, vintage),
    written directly: the read path is what is measured. Returns the variant ids."""
    import io

    from django.contrib.contenttypes.models import ContentType
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from PIL import Image

    from imagegen.models import Style, Variant
    from imagegen.registry import registry
    from imagegen.sources import resolve
    from imagegen.storage import save_content
    from shop.catalogue.models import Category, Product, ProductImage

    call_command("seed_demo", count=0, verbosity=0)  # the styles the shop's specs name
    category = Category.objects.create(name="Bench", slug="bench")
    Product.objects.bulk_create(
        Product(category=category, name=f"Bench product {i:03d}", slug=f"bench-{i:03d}", price="9.90") for i in range(products)
    )
    # bulk_create sends no post_save: no pending rows, no jobs; the ready rows come below.
    images, hashes = [], []
    for n, product in enumerate(Product.objects.order_by("pk")):
        for position in range(images_per_product):
            data = product_png(n * images_per_product + position, size=(96, 72))
            images.append(ProductImage(product=product, position=position, alt=product.name,
                                       image=default_storage.save(f"products/bench-{n}-{position}.png", ContentFile(data))))
            hashes.append(hashlib.sha256(data).hexdigest())
    ProductImage.objects.bulk_create(images)

    source = registry.get("shop.productimage.image")
    styles = {style.slug: style for style in Style.objects.all()}
    specs = [resolve(source.spec(name), styles) for name in ("sketch", "vintage")]
    files, sizes = {}, {}
    for shade, spec in enumerate(specs):
        buf = io.BytesIO()
        Image.new("RGB", (96, 72), (200, 180, 160 - 40 * shade)).save(buf, "WEBP")
        files[spec.name], sizes[spec.name] = save_content(buf.getvalue(), "WEBP"), len(buf.getvalue())
    content_type = ContentType.objects.get_for_model(ProductImage)
    Variant.objects.bulk_create(
        Variant(
            content_type=content_type, object_id=str(image.pk), field_name="image", source_hash=source_hash,
            spec_name=spec.name, style_id=spec.style_id, processor=spec.processor, parameters=spec.params,
            spec_hash=spec.spec_hash, requested_format=spec.format, max_size=spec.size, quality=spec.quality,
            status=Variant.Status.READY, is_published=True, file=files[spec.name], width=96, height=72,
            file_size=sizes[spec.name], format="WEBP",
            metrics={"content_ssim": 0.9}, timings={"process_ms": 10}, model_version=f"{spec.processor}@bench",
        )
        for image, source_hash in zip(ProductImage.objects.order_by("pk"), hashes)
        for spec in specs
    )
    return list(Variant.objects.order_by("pk").values_list("pk", flat=True))


def paths_for(variant_ids: list[int]) -> dict[str, list[str]]:
    return {
        "list": ["/api/imagegen/variants/?page_size=100"],
        "detail": [f"/api/imagegen/variants/{pk}/" for pk in variant_ids],
        "storefront": ["/"],
    }


def server_times(web: WebServer) -> dict[str, dict[str, float]]:
    """Server-side time per endpoint from gunicorn's access log (no client or queueing time)."""
    import re

    kinds = {"list": re.compile(r"^/api/imagegen/variants/$"), "detail": re.compile(r"^/api/imagegen/variants/\d+/$"), "storefront": re.compile(r"^/$")}
    entries = web.access_entries()
    return {key: percentiles([ms for method, path, status, ms in entries if method == "GET" and status == 200 and rx.match(path)])
            for key, rx in kinds.items()}


def count_queries(paths: dict[str, list[str]]) -> dict[str, int]:
    """Queries of one anonymous request to each endpoint (after a warm-up request, so
    per-process caches such as ContentType's are filled as in a running server)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = {}
    for key, urls in paths.items():
        url = urls[len(urls) // 2]
        assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[key] = len(captured.captured_queries)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--images-per-product", type=int, default=2)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    t_start = time.perf_counter()

    env = isolated_env(redis_db=free_redis_db(prefer=12))  # nobody else's jobs, nobody else's flushdb
    env["DEBUG"] = "0"  # as served in production: no query log kept per request
    setup_django(env)
    variant_ids = seed(args.products, args.images_per_product)
    paths = paths_for(variant_ids)
    queries = count_queries(paths)

    web = WebServer(env, Path(env["MEDIA_ROOT"]).parent, workers=args.web_workers, threads=args.web_threads, recycle=False).start()
    runs: dict[str, list[dict]] = {key: [] for key in paths}
    try:
        for key in paths:  # warm-up: imports, connections, template caches
            run_load(web.url, paths[key], connections=args.connections, threads=args.threads, duration=1, tool=args.tool)
        for _ in range(args.rounds):
            for key in paths:
                runs[key].append(run_load(web.url, paths[key], connections=args.connections, threads=args.threads,
                                          duration=args.duration, tool=args.tool))
        server = server_times(web)
    finally:
        web.stop()

    tool = runs["list"][0]["tool"]
    results = {
        "setup": {
            "products": args.products, "images": args.products * args.images_per_product, "variants": len(variant_ids),
            "server": f"gunicorn -c shop/gunicorn.conf.py, {args.web_workers} workers x {args.web_threads} threads, no recycling, DEBUG=0, SQLite",
            "load": {"tool": tool, "connections": args.connections, "threads": args.threads, "duration_s": args.duration, "rounds": args.rounds},
        },
        "endpoints": {},
    }
    for key in paths:
        rounds = runs[key]
        results["endpoints"][key] = {
            "path": paths[key][0] if key != "detail" else "/api/imagegen/variants/{id}/ (random id)",
            "requests_per_s": median([r["requests_per_s"] for r in rounds]),
            "p50_ms": median([r["p50_ms"] for r in rounds]),
            "p95_ms": median([r["p95_ms"] for r in rounds]),
            "p99_ms": median([r["p99_ms"] for r in rounds]),
            "requests": sum(r["requests"] for r in rounds),
            "errors": sum(r["errors"] for r in rounds),
            "queries_per_request": queries[key],
            "server_ms": server[key],
            "rounds": rounds,
        }
    results["elapsed_s"] = time.perf_counter() - t_start
    path = write_results("api", results)

    load = results["setup"]["load"]
    tool_text = "`wrk`" if tool == "wrk" else "Python threads over `http.client` (wrk not installed)"
    rows = "\n".join(
        f"| {label} | {e['requests_per_s']:.0f} | {e['p50_ms']:.1f} | {e['p95_ms']:.1f} | {e['p99_ms']:.1f} | {e['server_ms']['p50']:.1f} / {e['server_ms']['p95']:.1f} | {e['queries_per_request']} | {e['errors']} |"
        for label, key in ENDPOINTS.items()
        for e in [results["endpoints"][key]]
    )
    write_section(
        "api",
        f"""## API and storefront under load

`.venv/bin/python -m benchmarks.bench_api --duration {args.duration:g} --rounds {args.rounds} --connections {args.connections}`
(finished in {results['elapsed_s']:.0f} s). Served by gunicorn with `shop/gunicorn.conf.py` ({args.web_workers} processes ×
{args.web_threads} threads, worker recycling off, DEBUG off, SQLite) on 127.0.0.1: {args.products} products,
{results['setup']['images']} images, {len(variant_ids)} ready published variants, anonymous GETs. Load: {tool_text},
{load['connections']} connections{f", {load['threads']} threads" if tool == "wrk" else ""}, {args.rounds} rounds of {args.duration:g} s per
endpoint, the endpoints interleaved; each figure is the median over the rounds. Latency is as the client sees it;
server-side is gunicorn's access log (`%(D)s`: time inside the web process). Queries: one request in-process with
Django's test client (`CaptureQueriesContext`) after a warm-up request. The load generator shares the machine's
{os.cpu_count()} cores with the server. JSON: `{path.relative_to(path.parents[2])}`.

| endpoint | requests/s | p50 ms | p95 ms | p99 ms | server-side p50 / p95 ms | queries/request | errors |
|---|---|---|---|---|---|---|---|
{rows}
""",
    )
    print(path.read_text())
    print(f"bench_api finished in {results['elapsed_s']:.0f} s (gunicorn log: {web.error_log})")


if __name__ == "__main__":
    main()
