"""What a variant URL costs on the read path, per storage configuration, side by side.

Templates and serializers call ``storage.url(name)`` once per variant shown. With S3 this must
stay a local computation (a signature at most), never a request: here the S3 endpoint is a
closed port on 127.0.0.1, so any network call would fail the run. Each configuration renders
``--urls`` URLs per repeat; figures are medians of ``--repeats`` repeats, interleaved.

    .venv/bin/python -m benchmarks.bench_storage_urls [--urls 2000 --repeats 7]
"""
from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time

from .common import median, write_results, write_section

CONFIGS = {
    "local files (FileSystemStorage)": ("local", {}),
    "S3, public URLs": ("s3", {"querystring_auth": False}),
    "S3, public URLs via a CDN domain": ("s3", {"querystring_auth": False, "custom_domain": "img.example.com"}),
    "S3, signed URLs (SigV4, the default)": ("s3", {"querystring_auth": True}),
}
PAGE = 300  # a storefront page: 100 images x 3 variants


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


def make_storages() -> dict[str, object]:
    from django.core.files.storage import FileSystemStorage
    from storages.backends.s3 import S3Storage

    endpoint = f"http://127.0.0.1:{closed_port()}"
    built = {}
    for label, (kind, options) in CONFIGS.items():
        if kind == "local":
            built[label] = FileSystemStorage()
        else:
            built[label] = S3Storage(
                bucket_name="shop-variants",
                endpoint_url=endpoint,
                region_name="eu-west-1",
                access_key="bench",
                secret_key="bench-secret",
                signature_version="s3v4",
                **options,
            )
    return built


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from django.conf import settings

    settings.configure(MEDIA_URL="/media/", MEDIA_ROOT=tempfile.mkdtemp(), USE_TZ=True)
    import django

    django.setup()
    storages = make_storages()
    names = [f"imagegen/variants/{i % 256:02x}/{i % 97:02x}/{i:064x}.webp" for i in range(args.urls)]
    for storage in storages.values():
        storage.url(names[0])  # warm up: boto3 builds its client once per storage
    timings: dict[str, list[float]] = {label: [] for label in storages}
    for _ in range(args.repeats):
        for label, storage in storages.items():
            t0 = time.perf_counter()
            for name in names:
                storage.url(name)
            timings[label].append((time.perf_counter() - t0) / len(names) * 1e6)

    per_url = {label: median(values) for label, values in timings.items()}
    base = per_url["local files (FileSystemStorage)"]
    rows = [
        {"storage": label, "us_per_url": round(us, 1), "ms_per_page": round(us * PAGE / 1000, 2), "vs_local": round(us / base, 1)}
        for label, us in per_url.items()
    ]
    command = f".venv/bin/python -m benchmarks.bench_storage_urls --urls {args.urls} --repeats {args.repeats}"
    load = round(os.getloadavg()[0], 1)  # absolute figures scale with it; the ratios hold
    write_results("storage_urls", {"command": command, "urls": args.urls, "repeats": args.repeats, "page_urls": PAGE, "load_average": load, "rows": rows})
    table = "\n".join(f"| {r['storage']} | {r['us_per_url']} | {r['ms_per_page']} | {r['vs_local']}x |" for r in rows)
    write_section(
        "storage-urls",
        f"""## Variant URLs on the read path, by storage

`{command}`

Cost of `storage.url(name)` per variant URL (median of {args.repeats} repeats of {args.urls} URLs,
the configurations interleaved in one run). The S3 endpoint is a closed port: every URL was
built without a network request. A storefront page showing 100 images with 3 variants each
builds {PAGE} URLs. Load average during the run: {load} on {os.cpu_count()} cores (absolute figures
scale with it; the ratios are the point).

| storage | µs per URL | ms per page of {PAGE} | vs local |
|---|---|---|---|
{table}
""",
    )
    for r in rows:
        print(f"{r['storage']:<40} {r['us_per_url']:>8} us/url {r['ms_per_page']:>8} ms/page  {r['vs_local']}x")


if __name__ == "__main__":
    main()
