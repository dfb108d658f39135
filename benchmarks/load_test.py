"""Load test (issue 5): uploads through the admin while API readers poll, two workers.

A gunicorn web process (shop/gunicorn.conf.py) and two `manage.py imagegen_worker`
processes share one Redis database and one database (PostgreSQL when DATABASE_URL names one:
a throwaway database is created beside it and dropped afterwards; else SQLite). ``--clients``
admins, each logged in with its own session, upload ``--uploads`` product photos through the
ProductImage add form (multipart, CSRF token, "Save and continue editing"), while ``--readers``
API clients (half anonymous, half with a staff token) poll the variant list and details every
``--read-interval`` seconds. Then it waits until every variant has settled and checks:

- every upload answered 302 and its row exists (nothing lost);
- every image has exactly one variant per registered spec, each ``ready`` or ``failed`` with
  a reason; no two rows share (source, spec, content) and the unique constraint exists;
- every ready row's file exists in storage; no response was a 5xx, no request failed.

and reports the web process's read latency (client-side and server-side), upload latency, and
the time until everything settled. Writes benchmarks/results/load_test.json and the "Load
test" section of docs/reliability.md. Exits non-zero if a check fails.

    .venv/bin/python -m benchmarks.load_test                       # 200 uploads, 8 clients, 100 readers (~3 min on 2 cores)
    .venv/bin/python -m benchmarks.load_test --uploads 60 --clients 4 --readers 30
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/imagegen .venv/bin/python -m benchmarks.load_test
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .common import ROOT, isolated_env, setup_django, start, stop, write_results, write_section
from .loadkit import Readers, Upload, WebServer, percentiles, private_redis, product_png, run_uploads

DOC = ROOT / "docs" / "reliability.md"
SETTLED = ("ready", "failed")


# --- the database -------------------------------------------------------------------------

@contextlib.contextmanager
def throwaway_database(url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database beside the one ``url`` names (dropped afterwards), or None
    when ``url`` is not PostgreSQL (the caller then uses SQLite)."""
    if not url or urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        yield None
        return
    import psycopg

    parts = urlsplit(url)
    name = f"imagegen_load_{secrets.token_hex(4)}"
    admin_url = urlunsplit((parts.scheme.replace("pgsql", "postgresql"), parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- checks (also used by tests/integration/test_load_smoke.py) ----------------------------

def unsettled(image_ids: list[int]) -> int:
    from django.contrib.contenttypes.models import ContentType

    from imagegen.models import Variant
    from shop.catalogue.models import ProductImage

    content_type = ContentType.objects.get_for_model(ProductImage)
    rows = Variant.objects.filter(content_type=content_type, object_id__in=[str(i) for i in image_ids])
    return rows.exclude(status__in=SETTLED).count()


def wait_settled(image_ids: list[int], expected_per_image: int, timeout: float) -> float:
    """Seconds until every expected variant of these images is ready or failed."""
    from django.contrib.contenttypes.models import ContentType

    from imagegen.models import Variant
    from shop.catalogue.models import ProductImage

    content_type = ContentType.objects.get_for_model(ProductImage)
    rows = Variant.objects.filter(content_type=content_type, object_id__in=[str(i) for i in image_ids])
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if rows.filter(status__in=SETTLED).count() >= len(image_ids) * expected_per_image and not rows.exclude(status__in=SETTLED).exists():
            return time.monotonic() - t0
        time.sleep(0.1)
    raise TimeoutError(f"variants not settled after {timeout:.0f} s: {rows.exclude(status__in=SETTLED).count()} pending or running")


def check_variants(image_ids: list[int], spec_names: list[str]) -> tuple[dict, list[str]]:
    """Figures about the variants of these images, and every problem found (empty: all good)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.db.models import Count, Max

    from imagegen.models import Variant
    from imagegen.storage import variant_storage
    from shop.catalogue.models import ProductImage

    problems: list[str] = []
    content_type = ContentType.objects.get_for_model(ProductImage)
    rows = Variant.objects.filter(content_type=content_type, object_id__in=[str(i) for i in image_ids])

    found = set(ProductImage.objects.filter(pk__in=image_ids).values_list("pk", flat=True))
    if len(found) != len(set(image_ids)):
        problems.append(f"{len(set(image_ids)) - len(found)} uploaded images have no row")

    statuses = dict(rows.values_list("status").annotate(n=Count("pk")).order_by())
    unsettled_rows = sum(n for status, n in statuses.items() if status not in SETTLED)
    if unsettled_rows:
        problems.append(f"{unsettled_rows} variants neither ready nor failed: {statuses}")
    no_reason = rows.filter(status="failed", error="").count()
    if no_reason:
        problems.append(f"{no_reason} failed variants without a reason")

    key = ["content_type", "object_id", "field_name", "spec_hash", "source_hash"]
    duplicates = rows.values(*key).annotate(n=Count("pk")).filter(n__gt=1).count()
    if duplicates:
        problems.append(f"{duplicates} (source, spec, content) keys have more than one row")
    per_spec = rows.exclude(status="stale").values("object_id", "spec_name").annotate(n=Count("pk")).order_by()
    twice = [r for r in per_spec if r["n"] > 1]
    if twice:
        problems.append(f"{len(twice)} (image, spec) pairs have more than one current row, e.g. {twice[0]}")
    expected = {(str(i), name) for i in found for name in spec_names}
    missing = expected - {(r["object_id"], r["spec_name"]) for r in per_spec}
    if missing:
        problems.append(f"{len(missing)} (image, spec) pairs have no variant, e.g. {sorted(missing)[0]}")

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Variant._meta.db_table)
    unique = constraints.get("imagegen_variant_unique_per_source_and_spec", {})
    if not unique.get("unique"):
        problems.append("the unique constraint imagegen_variant_unique_per_source_and_spec is missing from the database")

    storage = variant_storage()
    ready_files = list(rows.filter(status="ready").values_list("file", flat=True))
    missing_files = [name for name in ready_files if not name or not storage.exists(name)]
    if missing_files:
        problems.append(f"{len(missing_files)} ready variants point at missing files, e.g. {missing_files[0]!r}")

    figures = {
        "images": len(found),
        "variants": sum(statuses.values()),
        "statuses": statuses,
        "failed_reasons": sorted(set(rows.filter(status="failed").values_list("error", flat=True)))[:5],
        "max_attempts": rows.aggregate(m=Max("attempts"))["m"] or 0,
        "by_worker": dict(rows.values_list("worker_name").annotate(n=Count("pk")).order_by()),
        "unique_constraint": bool(unique.get("unique")),
        "duplicate_keys": duplicates,
    }
    return figures, problems


# --- the run ------------------------------------------------------------------------------

def seed(products: int) -> tuple[list[int], list[str], tuple[str, str], str]:
    """Styles, products, an admin and an API reader. Returns product ids, the spec names an
    upload gets, the admin's credentials and the reader's token."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from imagegen.models import Style
    from imagegen.registry import registry
    from shop.catalogue.models import Category, Product

    call_command("seed_demo", count=0, verbosity=0)  # the styles the shop's specs name
    category = Category.objects.create(name="Load", slug="load")
    Product.objects.bulk_create(
        Product(category=category, name=f"Load product {i:03d}", slug=f"load-{i:03d}", price="12.00") for i in range(products)
    )
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser("load-admin", "load@example.com", password)
    reader = User.objects.create_user("api-reader", password=secrets.token_urlsafe(12), is_staff=True)
    token = Token.objects.create(user=reader).key
    styles = set(Style.objects.filter(is_active=True).values_list("slug", flat=True))
    specs = [s.name for s in registry.get("shop.productimage.image").specs if s.processor or s.style in styles]
    return list(Product.objects.order_by("pk").values_list("pk", flat=True)), specs, ("load-admin", password), token


def wait_workers(count: int, procs: list, timeout: float = 180) -> None:
    import django_rq
    from rq import Worker

    connection = django_rq.get_connection("imagegen")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited with {proc.returncode}; see its log")
        if Worker.count(connection=connection) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{count} workers did not register within {timeout:.0f} s")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8, help="concurrent uploading admins")
    parser.add_argument("--readers", type=int, default=100, help="API clients polling variants")
    parser.add_argument("--read-interval", type=float, default=1.0, help="seconds between one reader's requests (jittered ±50%%)")
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--image-size", default="128x96", help="uploaded photos, WxH pixels")
    parser.add_argument("--workers", type=int, default=2, help="imagegen worker processes")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch threads per worker (OMP_NUM_THREADS); 0: torch's default, one per core")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--settle-timeout", type=float, default=600)
    args = parser.parse_args()
    if not (0 < args.clients <= 32 and 0 <= args.readers <= 200 and 0 < args.uploads <= 2000):
        parser.error("bounded load only: clients 1-32, readers 0-200, uploads 1-2000")
    width, height = (int(v) for v in args.image_size.lower().split("x"))

    env = isolated_env()
    env["DEBUG"] = "0"
    logs = Path(env["MEDIA_ROOT"]).parent
    # A Redis of its own: nobody else's flushdb or worker touches this run's jobs.
    with private_redis(logs) as redis_url, throwaway_database(os.environ.get("DATABASE_URL")) as pg_url:
        env["REDIS_URL"] = redis_url
        if pg_url:
            env["DATABASE_URL"] = pg_url
        results, problems = run(args, env, logs, (width, height))
    results["problems"] = problems
    path = write_results("load_test", results)
    if not problems:  # one section per size and database, each replaced when rerun
        key = f"load-test-{args.uploads}-{args.clients}-{args.readers}-{results['setup']['database']}"
        write_section(key, report(results, args), doc=DOC)
    print(path.read_text())
    print(f"logs: {logs}")
    if problems:
        raise SystemExit("load test FAILED:\n- " + "\n- ".join(problems))
    print("load test passed: every variant settled, none duplicated, no 5xx")


def run(args, env: dict[str, str], logs: Path, size: tuple[int, int]) -> tuple[dict, list[str]]:
    t_setup = time.perf_counter()
    setup_django(env)
    import django_rq
    from django.db import connection

    django_rq.get_connection("imagegen").flushdb()
    product_ids, spec_names, (username, password), token = seed(args.products)
    items = [
        Upload(product_ids[i % len(product_ids)], f"load-{i:04d}.png", product_png(i, size)) for i in range(args.uploads)
    ]
    connection.close()  # the web and worker processes open their own

    web = WebServer(env, logs, workers=args.web_workers).start()
    # Two workers on a small host each get a share of the cores: torch's default (a thread per
    # core in every worker) oversubscribes them, and its spinning threads then cost 5-30x.
    worker_env = {**env, "OMP_NUM_THREADS": str(args.torch_threads)} if args.torch_threads else env
    workers = [start(["imagegen_worker"], worker_env, logs / f"worker-{i}.log") for i in range(args.workers)]
    readers = None
    try:
        wait_workers(args.workers, workers)
        setup_s = time.perf_counter() - t_setup
        cpu0 = _cpu_seconds()
        readers = Readers(web.url, args.readers, interval=args.read_interval, tokens=[None, token]).start()
        time.sleep(min(2.0, args.read_interval * 2))  # readers under way before the first upload

        t0 = time.monotonic()
        run_uploads(web.url, username, password, items, args.clients)
        uploads_s = time.monotonic() - t0
        image_ids = [item.image_id for item in items if item.image_id]
        settle_after_uploads = wait_settled(image_ids, len(spec_names), args.settle_timeout)
        settled_s = time.monotonic() - t0
        readers.stop()
        generator_cpu_s = _cpu_seconds() - cpu0
    finally:
        if readers is not None:
            readers.stop()
        web.stop()
        for proc in workers:
            stop(proc)

    figures, problems = check_variants(image_ids, spec_names)
    failed_uploads = [item for item in items if item.image_id is None]
    if failed_uploads:
        problems.append(f"{len(failed_uploads)} uploads failed, e.g. {failed_uploads[0].error}")
    server_errors = {status: n for status, n in readers.statuses().items() if status >= 500}
    if server_errors:
        problems.append(f"readers got 5xx responses: {server_errors}")
    if readers.errors:
        problems.append(f"{len(readers.errors)} reader requests failed, e.g. {readers.errors[0]}")
    entries = web.access_entries()
    web_5xx = sum(1 for _, _, status, _ in entries if status >= 500)
    if web_5xx:
        problems.append(f"the web process answered {web_5xx} requests with a 5xx")

    api_reads = [ms for method, path, status, ms in entries if method == "GET" and path.startswith("/api/") and status == 200]
    results = {
        "setup": {
            "uploads": args.uploads, "clients": args.clients, "readers": args.readers, "read_interval_s": args.read_interval,
            "image_size": f"{size[0]}x{size[1]}", "products": args.products, "specs": spec_names,
            "imagegen_workers": args.workers, "torch_threads_per_worker": args.torch_threads or "default", "web": f"gunicorn -c shop/gunicorn.conf.py, {args.web_workers} processes",
            "database": connection.vendor, "cpus": os.cpu_count(), "setup_s": setup_s,
        },
        "variants": figures,
        "reads": {
            "requests": len(readers.samples),
            "statuses": readers.statuses(),
            "client_ms": {"all": percentiles(readers.latencies()), "list": percentiles(readers.latencies("list")),
                          "detail": percentiles(readers.latencies("detail"))},
            "server_ms": percentiles(api_reads),
            "requests_per_s": len(readers.samples) / settled_s,
        },
        "uploads": {
            "ok": len(image_ids),
            "post_ms": percentiles([item.post_ms for item in items if item.image_id]),
            "form_ms": percentiles([item.form_ms for item in items if item.image_id]),
            "duration_s": uploads_s,
            "uploads_per_s": len(image_ids) / uploads_s,
        },
        # The load generator (this process: readers, uploaders, polling) shares the cores it measures.
        "load_generator": {"cpu_s": generator_cpu_s, "core_share": generator_cpu_s / settled_s},
        "settled": {
            "from_first_upload_s": settled_s,
            "after_last_upload_s": settle_after_uploads,
            "variants_per_s": figures["variants"] / settled_s,
        },
    }
    return results, problems


def report(results: dict, args) -> str:
    s, r, u, t, v = results["setup"], results["reads"], results["uploads"], results["settled"], results["variants"]
    g = results["load_generator"]
    flags = f"--uploads {args.uploads} --clients {args.clients} --readers {args.readers}"
    if args.torch_threads != 1:
        flags += f" --torch-threads {args.torch_threads}"
    if args.read_interval != 1.0:
        flags += f" --read-interval {args.read_interval:g}"
    db = "DATABASE_URL=postgres://postgres@127.0.0.1:5432/imagegen " if s["database"] == "postgresql" else ""
    statuses = ", ".join(f"{n} {k}" for k, n in sorted(v["statuses"].items()))
    workers = ", ".join(str(n) for n in sorted(v["by_worker"].values(), reverse=True))
    ok = "/".join(str(code) for code in sorted(r["statuses"]))
    c, d, lst = r["client_ms"]["all"], r["client_ms"]["detail"], r["client_ms"]["list"]
    return f"""### {s['uploads']} uploads from {s['clients']} clients, {s['readers']} readers, {s['database']}

`{db}.venv/bin/python -m benchmarks.load_test {flags}` — measured {time.strftime('%Y-%m-%d')} on {s['cpus']} CPU cores
shared by everything below ({s['database']}, a private redis-server, local files; JSON: `benchmarks/results/load_test.json`, last run only).

Set-up: gunicorn with `shop/gunicorn.conf.py` ({args.web_workers} processes × 4 threads, DEBUG off) and
{s['imagegen_workers']} `imagegen_worker` processes (torch threads each: {s['torch_threads_per_worker']}) sharing Redis and the database. {s['uploads']} uploads of distinct
{s['image_size']} PNGs from {s['clients']} concurrent admin sessions through the ProductImage add form (multipart, CSRF),
each getting the shop's {len(s['specs'])} registered variants ({', '.join(s['specs'])}); meanwhile {s['readers']} API readers
(half anonymous, half with a staff token) poll `/api/imagegen/variants/?page_size=20` and variant details every
{s['read_interval_s']:g} s ±50 %.

| figure | value |
|---|---|
| variants | {v['variants']}: {statuses}; duplicates {v['duplicate_keys']}; unique constraint present; max attempts {v['max_attempts']} |
| work split between the workers (variants) | {workers} |
| uploads | {u['ok']}/{s['uploads']} answered 302 in {u['duration_s']:.1f} s ({u['uploads_per_s']:.1f}/s); POST p50 {u['post_ms']['p50']:.0f} ms, p95 {u['post_ms']['p95']:.0f} ms |
| all variants settled | {t['from_first_upload_s']:.1f} s after the first upload, {t['after_last_upload_s']:.1f} s after the last ({t['variants_per_s']:.1f} variants/s) |
| API reads | {r['requests']} requests ({r['requests_per_s']:.0f}/s), statuses {ok}, no 5xx, no failed request |
| read latency, client side | p50 {c['p50']:.0f} ms, **p95 {c['p95']:.0f} ms**, p99 {c['p99']:.0f} ms (list p95 {lst['p95']:.0f} ms, detail p95 {d['p95']:.0f} ms) |
| read latency, inside the web process | p50 {r['server_ms']['p50']:.0f} ms, p95 {r['server_ms']['p95']:.0f} ms (gunicorn access log, `%(D)s`) |
| load generator's own CPU | {g['cpu_s']:.0f} CPU-s, {g['core_share']:.0%} of one core over the run |
"""


if __name__ == "__main__":
    main()
