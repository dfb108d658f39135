"""The whole path on real components: save() → Variant rows → rq on real Redis → a real
worker subprocess → files in storage → ready rows."""
from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from imagegen.models import Variant

from ..conftest import png_bytes, wait_for
from .helpers import make_product, make_styles, upload, variants_of, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SPECS = {"sketch", "sunset", "vintage"}


def test_upload_gets_every_registered_variant_from_a_real_worker(worker):
    make_styles()
    image = upload(make_product(), png_bytes(size=(240, 180)))

    rows = wait_settled(image)

    assert {v.spec_name for v in rows} == SPECS
    for variant in rows:
        assert variant.status == Variant.Status.READY, (variant.spec_name, variant.error, worker.output())
        assert variant.attempts == 1
        assert variant.format == "WEBP"
        assert (variant.width, variant.height) == (240, 180)
        data = default_storage.open(variant.file.name).read()
        assert len(data) == variant.file_size
        assert variant.file.name.endswith(".webp") and "photo" not in variant.file.name
        decoded = Image.open(io.BytesIO(data))
        assert decoded.size == (240, 180)
        # The transparent background stays transparent (not black) in a format with alpha.
        assert decoded.mode == "RGBA" and decoded.getpixel((0, 0))[3] == 0
        assert {"decode_ms", "process_ms", "encode_ms", "save_ms"} <= set(variant.timings)
        assert variant.model_version.startswith(variant.processor)
        assert variant.is_published  # AUTO_PUBLISH is on by default
    # The original upload is untouched.
    assert default_storage.open(image.image.name).read() == png_bytes(size=(240, 180))


def test_new_bytes_make_new_variants_and_mark_old_ones_stale(worker):
    image = upload(make_product(), png_bytes(color=(10, 120, 200, 255)))
    first = wait_settled(image)
    assert [v.status for v in first] == [Variant.Status.READY]  # only "sketch": no styles exist

    image.image.save("photo.png", ContentFile(png_bytes(color=(250, 200, 0, 255))), save=True)
    second = wait_settled(image)

    assert len(second) == 1 and second[0].status == Variant.Status.READY
    assert second[0].source_hash != first[0].source_hash
    assert second[0].file.name != first[0].file.name
    first[0].refresh_from_db()
    assert first[0].status == Variant.Status.STALE


def test_same_bytes_under_a_new_name_cost_no_new_work(worker):
    data = png_bytes(color=(0, 160, 80, 255))
    image = upload(make_product(), data)
    (variant,) = wait_settled(image)

    image.image.save("renamed-by-supplier.png", ContentFile(data), save=True)

    rows = list(variants_of(image))
    assert [(v.pk, v.status, v.attempts) for v in rows] == [(variant.pk, Variant.Status.READY, 1)]


def test_a_broken_upload_fails_its_variants_with_a_message_and_keeps_the_original(worker):
    junk = b"<html><body>not really a photo</body></html>"
    image = upload(make_product(), junk, name="photo.jpg")

    (variant,) = wait_settled(image)

    assert variant.status == Variant.Status.FAILED
    assert "not an image" in variant.error.lower() or "html" in variant.error.lower(), variant.error
    assert not variant.file
    assert default_storage.open(image.image.name).read() == junk


def test_deleting_the_source_removes_its_rows(worker):
    image = upload(make_product())
    wait_settled(image)
    pk = image.pk
    image.delete()
    assert not Variant.objects.filter(object_id=str(pk)).exists()


def test_the_worker_serves_all_imagegen_queues_in_priority_order(worker, redis_conn):
    from imagegen.queue import get_queue

    image = upload(make_product())
    wait_settled(image)
    for key in ("high", "default", "bulk"):
        queue = get_queue(key)
        wait_for(lambda q=queue: q.count == 0, timeout=30, message=f"{queue.name} to drain")
    assert "imagegen-high, imagegen, imagegen-bulk" in worker.output()
