"""Nothing is lost when Redis is down, and the same work is never done twice."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from rq import Queue

from imagegen.jobs import process_source
from imagegen.models import Variant
from imagegen.queue import JOB_FUNCTION, enqueue_source, get_queue, job_id_for

from ..conftest import png_bytes, wait_for
from .helpers import make_product, make_styles, upload, variants_of, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_down(monkeypatch):
    """Point every imagegen queue at a port where nothing listens: a real refused connection."""
    import django_rq.settings

    for name, config in django_rq.settings.QUEUES.items():
        monkeypatch.setitem(django_rq.settings.QUEUES, name, {**config, "URL": "redis://127.0.0.1:1/0?socket_connect_timeout=1"})


def test_upload_succeeds_while_redis_is_down_and_reconcile_finishes_it(redis_conn, redis_down, start_worker, monkeypatch):
    image = upload(make_product(), png_bytes(color=(90, 30, 160, 255)))

    (variant,) = variants_of(image)
    assert variant.status == Variant.Status.PENDING
    assert variant.job_id == "" and variant.enqueued_at is None  # never reached Redis

    call_command("imagegen_reconcile", "--older-than", "0")  # still down: stays pending, no crash
    variant.refresh_from_db()
    assert variant.status == Variant.Status.PENDING

    monkeypatch.undo()  # Redis is back
    start_worker()
    call_command("imagegen_reconcile", "--older-than", "0")

    (variant,) = wait_settled(image)
    assert variant.status == Variant.Status.READY and variant.attempts == 1


def test_the_worker_reconciles_by_itself(redis_conn, redis_down, start_worker, monkeypatch):
    image = upload(make_product())
    monkeypatch.undo()
    start_worker(IMAGEGEN_RECONCILE_AFTER="1")  # nobody runs the command: the worker's own loop must

    (variant,) = wait_settled(image, timeout=60)
    assert variant.status == Variant.Status.READY


def test_duplicate_enqueue_and_two_workers_render_each_variant_once(redis_conn, start_worker):
    make_styles()
    image = upload(make_product())
    rows = list(variants_of(image))
    assert len(rows) == 3
    key = (rows[0].content_type_id, rows[0].object_id, "image", rows[0].source_hash)

    # The same job pushed three more times, past the live-job check, onto a real queue.
    queue: Queue = get_queue("default")
    for _ in range(3):
        queue.enqueue(JOB_FUNCTION, *key, job_id=job_id_for(*key))  # same id as the upload's job
    assert enqueue_source(*key) == job_id_for(*key)  # a live job: not queued again
    start_worker()
    start_worker()

    settled = wait_settled(image)
    assert all(v.status == Variant.Status.READY for v in settled)
    assert [v.attempts for v in settled] == [1, 1, 1]
    assert len({v.file.name for v in settled}) == 3
    wait_for(lambda: queue.count == 0, timeout=30)
    assert Variant.objects.count() == 3


def test_running_the_job_again_after_it_finished_does_nothing(redis_conn):
    image = upload(make_product())
    (variant,) = variants_of(image)
    key = (variant.content_type_id, variant.object_id, "image", variant.source_hash)

    assert process_source(*key)["ready"] == 1
    assert process_source(*key) == {"ready": 0, "failed": 0, "skipped": 0, "retry": 0, "borrowed": 0}
    variant.refresh_from_db()
    assert variant.attempts == 1 and variant.status == Variant.Status.READY
