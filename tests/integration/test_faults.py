"""Each test breaks a real component — kills a worker, times a job out, replaces or deletes
the source mid-job, makes storage fail — and checks every variant still ends ready, or
failed with a reason, and none twice."""
from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

import imagegen
from imagegen.models import Style, Variant
from imagegen.queue import job_status
from imagegen.storage import variant_storage

from ..conftest import png_bytes, wait_for
from .helpers import make_product, upload, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

FAST = {"IMAGEGEN_RECONCILE_AFTER": "1", "IMAGEGEN_RECONCILE_INTERVAL": "1", "IMAGEGEN_WORKER_HEARTBEAT_TTL": "2"}


def slow_variant(image, seconds: float) -> Variant:
    style, _ = Style.objects.get_or_create(slug=f"slow-{seconds}", defaults={"name": "Slow", "processor": "slow", "parameters": {"seconds": seconds}})
    (variant,) = imagegen.request_variants(image, "image", [style], format="png")
    return variant


def wait_status(variant: Variant, *statuses: str, timeout: float = 60) -> Variant:
    def check():
        variant.refresh_from_db()
        return variant.status in statuses

    wait_for(check, timeout=timeout, message=f"variant {variant.pk} to become {statuses}")
    return variant


def variant_files() -> set[str]:
    storage = variant_storage()
    found = set()

    def walk(path: str) -> None:
        dirs, files = storage.listdir(path)
        found.update(f"{path}/{f}" for f in files)
        for d in dirs:
            walk(f"{path}/{d}")

    if storage.exists("imagegen/variants"):
        walk("imagegen/variants")
    return found


def test_a_worker_killed_mid_job_is_noticed_and_the_work_redone(start_worker):
    image = upload(make_product())
    first = start_worker(**FAST)
    wait_settled(image)
    variant = slow_variant(image, 4)
    wait_status(variant, Variant.Status.RUNNING)
    assert variant.worker_name

    first.kill()  # SIGKILL: no cleanup, no goodbye
    second = start_worker(**FAST)

    wait_status(variant, Variant.Status.READY, timeout=90)
    assert variant.attempts == 2 and variant.worker_name != first.proc.pid
    assert "stopped" in second.output() or variant.error == ""
    assert Variant.objects.filter(style=variant.style).count() == 1


def test_a_job_over_its_time_limit_fails_clearly_and_the_worker_goes_on(start_worker, settings):
    worker = start_worker(**FAST)
    image = upload(make_product())
    (first,) = wait_settled(image)
    # Let the upload's job end first: a job still running would take the new row into its own
    # (longer) time limit in a second pass.
    wait_for(lambda: job_status(first.job_id, "default") == "finished", timeout=30, message="the upload's job to end")
    settings.IMAGEGEN = {**settings.IMAGEGEN, "JOB_TIMEOUT": 2}  # the limit travels with the job
    variant = slow_variant(image, 30)

    try:
        wait_status(variant, Variant.Status.FAILED, timeout=60)
    except AssertionError:
        raise AssertionError(f"{variant.status} {variant.error!r}\n{worker.output()[-3000:]}") from None
    assert "longer than the 2 s limit" in variant.error

    later = upload(make_product("After"))
    (ready,) = wait_settled(later)
    assert ready.status == Variant.Status.READY, worker.output()


def test_a_source_replaced_mid_job_never_gets_the_old_result(start_worker):
    files_before = variant_files()  # the media folder lives for the whole session
    start_worker(**FAST)
    image = upload(make_product(), png_bytes(color=(200, 0, 0, 255)))
    wait_settled(image)
    old = slow_variant(image, 3)
    wait_status(old, Variant.Status.RUNNING)

    image.image.save("new.png", ContentFile(png_bytes(color=(0, 0, 200, 255))), save=True)

    new_rows = wait_settled(image)
    assert {v.status for v in new_rows} == {Variant.Status.READY}
    wait_for(lambda: not Variant.objects.filter(status=Variant.Status.RUNNING).exists(), timeout=30)
    old.refresh_from_db()
    assert old.status == Variant.Status.STALE and not old.file
    assert variant_files() - files_before == {v.file.name for v in Variant.objects.exclude(file="")}


def test_a_source_deleted_mid_job_ends_cleanly_without_orphan_files(start_worker):
    files_before = variant_files()
    worker = start_worker(**FAST)
    image = upload(make_product())
    wait_settled(image)
    slow = slow_variant(image, 3)
    wait_status(slow, Variant.Status.RUNNING)
    kept = files_before | {v.file.name for v in Variant.objects.exclude(file="")}

    image.delete()
    assert not Variant.objects.exists()
    # The job finishes its sleep, finds its row gone, and ends without an error.
    from imagegen.queue import get_queue
    from rq.registry import FinishedJobRegistry

    finished = FinishedJobRegistry(queue=get_queue("high"))
    wait_for(lambda: slow.job_id in finished.get_job_ids(), timeout=30, message="the slow job to finish")
    assert "Traceback" not in worker.output()
    # Only files of rows that existed before remain (those rows' cleanup is imagegen_cleanup's job).
    assert variant_files() <= kept


def test_storage_failures_are_retried_then_fail_with_a_message(start_worker):
    image = upload(make_product())
    start_worker(IMAGEGEN_TEST_STORAGE="unwritable", IMAGEGEN_MAX_ATTEMPTS="2", **FAST)

    (variant,) = wait_settled(image, timeout=90)
    assert variant.status == Variant.Status.FAILED
    assert variant.attempts == 2
    assert "Gave up after 2 attempts" in variant.error and "Saving or processing failed" in variant.error
    assert not variant.file  # no row points at a missing file
    assert default_storage.exists(image.image.name)  # the original is untouched


@pytest.mark.parametrize("env, message", [
    ({"IMAGEGEN_PRECISION": "fp16"}, "IMAGEGEN_PRECISION='fp16': use auto"),
    ({"IMAGEGEN_COMPILE": "mutli"}, "IMAGEGEN_COMPILE='mutli': unknown network mutli"),
    ({"IMAGEGEN_SEGMENT_BACKEND": "onnx"}, "IMAGEGEN_SEGMENT_BACKEND='onnx': use one of auto, torch, onnxruntime"),
    ({"IMAGEGEN_CPU_BACKEND": "ort"}, "IMAGEGEN_CPU_BACKEND='ort': use one of auto, torch, onnxruntime"),
])  # fmt: skip
def test_a_mistyped_worker_setting_stops_the_worker_at_start_with_its_message(start_worker, env, message):
    worker = start_worker(**env)
    assert worker.proc.wait(timeout=120) != 0
    output = worker.output()
    assert message in output and "CommandError" in output and "Traceback" not in output, output
