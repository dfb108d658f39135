"""The whole path on a real S3 server (moto_server over HTTP): the upload goes to S3, a real
worker subprocess reads the source and the style references from S3 and writes the variants
there, the storefront renders their URLs without a single request to S3, and cleanup deletes
the files from S3 once their source is gone."""
from __future__ import annotations

import html
import io
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.core.management import call_command
from PIL import Image

from imagegen.conf import conf
from imagegen.models import Variant

from ..conftest import png_bytes
from ..integration.helpers import make_product, make_styles, upload, variants_of, wait_settled
from .fixtures import make_bucket, use_s3

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

VARIANTS = f"{conf.UPLOAD_TO}/"


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
        if url.split("?")[0].endswith(".webp"):
            # Served with the type of what the worker encoded, whatever the upload claimed.
            assert response.headers["Content-Type"] == "image/webp"
        return body


def count_boto_requests(aliases: tuple[str, ...]) -> list[str]:
    """Every HTTP request botocore is about to send from this process's storages."""
    sent: list[str] = []
    for alias in aliases:
        storage = storages[alias]
        for connection in (storage.connection, storage.unsigned_connection):
            connection.meta.client.meta.events.register("before-send", lambda request, **kw: sent.append(request.url))
    return sent


def test_upload_worker_variant_and_cleanup_all_on_s3(s3, start_worker, client):
    worker = start_worker(**s3.env)
    styles = make_styles()  # their reference files go to S3: the worker reads them from there
    data = png_bytes(size=(200, 150))
    product = make_product()
    # A name no earlier test left on the local disk (the media folder lives for the session).
    image = upload(product, data, name=f"on-s3-{uuid.uuid4().hex}.png")

    # The source lives on S3, not on the local disk.
    assert s3.read(image.image.name) == data
    assert not (Path(settings.MEDIA_ROOT) / image.image.name).exists()
    assert image.image.name.startswith("products/")

    rows = wait_settled(image)
    assert {v.spec_name for v in rows} == {"sketch", "sunset", "vintage"}
    variant_keys = s3.keys(prefix=VARIANTS)
    for variant in rows:
        assert variant.status == Variant.Status.READY, (variant.spec_name, variant.error, worker.output())
        assert variant.file.name in variant_keys
        stored = s3.read(variant.file.name)
        assert len(stored) == variant.file_size
        assert Image.open(io.BytesIO(stored)).size == (200, 150)
    assert len(variant_keys) == 3

    # The read path: signed URLs, built locally. Not one request reaches S3 while the
    # storefront page and every variant URL are rendered.
    sent = count_boto_requests(("default", "imagegen"))
    before = s3.server.requests()
    response = client.get(product.get_absolute_url())
    urls = [Variant.objects.get(pk=v.pk).url for v in rows]
    assert response.status_code == 200
    assert sent == []
    assert s3.server.requests() == before
    page = html.unescape(response.content.decode())
    # Compared without the signature: the page and `urls` may be signed a second apart.
    on_page = {url.split("?")[0]: url for url in re.findall(r'https?://[^"\s,]+', page)}
    for variant, url in zip(rows, urls):
        unsigned = url.split("?")[0]
        assert unsigned == f"{s3.server.url}/{s3.bucket}/{variant.file.name}"
        assert "X-Amz-Signature=" in url  # querystring auth (the default)
        assert "X-Amz-Signature=" in on_page[unsigned]
    # ...and the URLs work, the page's as well, while the object without the signature is refused.
    assert fetch(urls[0]) == s3.read(rows[0].file.name)
    assert fetch(on_page[urls[0].split("?")[0]]) == s3.read(rows[0].file.name)
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(urls[0].split("?")[0])
    assert refused.value.code == 403

    # The source goes away: its rows go with it, then cleanup removes the files from S3.
    image.delete()
    assert not variants_of(image).exists()
    source_keys = {image.image.name} | {style.reference.name for style in styles.values()}
    dry = io.StringIO()
    call_command("imagegen_cleanup", "--min-age", "0", stdout=dry)
    assert "DRY RUN" in dry.getvalue() and "Unreferenced variant files: 3 would delete" in dry.getvalue()
    assert s3.keys(prefix=VARIANTS) == variant_keys

    out = io.StringIO()
    call_command("imagegen_cleanup", "--delete", "--min-age", "0", stdout=out)
    assert "Unreferenced variant files: 3 deleted" in out.getvalue()
    assert s3.keys(prefix=VARIANTS) == set()
    # Source images and style references are never cleanup's to delete, even orphaned ones.
    assert source_keys <= s3.keys()


def test_variants_on_their_own_storage_with_public_urls(moto_server, monkeypatch, settings, start_worker):
    """Sources stay on local disk; variants go to a bucket of their own (the "imagegen" alias)
    with public, unsigned URLs, as for a CDN-fronted bucket."""
    variant_bucket = make_bucket(moto_server)
    s3 = use_s3(
        monkeypatch,
        settings,
        moto_server,
        IMAGEGEN_VARIANT_STORAGE="s3",
        IMAGEGEN_VARIANT_BUCKET=variant_bucket,
        IMAGEGEN_VARIANT_QUERYSTRING_AUTH="0",
        IMAGEGEN_VARIANT_ACL="public-read",  # or a bucket policy: unsigned URLs need public objects
    )
    worker = start_worker(**s3.env)
    data = png_bytes(size=(120, 90), color=(20, 90, 200, 255))
    image = upload(make_product(), data)

    (variant,) = wait_settled(image)  # "sketch" only: no styles in this test

    assert variant.status == Variant.Status.READY, (variant.error, worker.output())
    assert (Path(settings.MEDIA_ROOT) / image.image.name).read_bytes() == data
    assert s3.keys(variant_bucket) == {variant.file.name}
    assert s3.keys() == set()  # nothing in the uploads bucket: sources are local
    assert variant.url == f"{moto_server.url}/{variant_bucket}/{variant.file.name}"
    assert fetch(variant.url) == s3.read(variant.file.name, variant_bucket)
