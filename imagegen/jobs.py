"""The job a worker runs for one source image: decode once, render every pending variant.

Arguments are plain data. Rows are claimed with conditional UPDATEs, so two workers racing
on the same source (or the same job queued twice) produce each variant once; a result is
published only if its row is still ``running``, so a source replaced mid-job never gets the
old image's result.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import F
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from .conf import conf
from .engine.errors import ImageTooLargeError
from .models import Variant
from .signals import variant_failed, variant_ready
from .style_vectors import render_parameters
from .storage import save_content, variant_storage

logger = logging.getLogger(__name__)

# Failures worth retrying: the storage or the machine, not the image.
TRANSIENT = (OSError, ConnectionError, TimeoutError, MemoryError)


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


def process_source(content_type_id: int, object_id: str, field_name: str, source_hash: str) -> dict[str, Any]:
    """Render every pending variant of one source's content. Rows requested while this job
    runs are picked up by a second pass rather than waiting for reconcile."""
    total = {"ready": 0, "failed": 0, "skipped": 0, "retry": 0}
    for _ in range(3):
        summary = _process_pending(content_type_id, object_id, field_name, source_hash)
        for key, value in summary.items():
            total[key] += value
        if not any(summary.values()):
            break
    return total


def _process_pending(content_type_id: int, object_id: str, field_name: str, source_hash: str) -> dict[str, int]:
    from . import engine  # torch: loaded in the worker, never in the web process

    rows = Variant.objects.filter(
        content_type_id=content_type_id, object_id=object_id, field_name=field_name, source_hash=source_hash
    )
    pending = list(rows.filter(status=Variant.Status.PENDING).select_related("style"))
    summary = {"ready": 0, "failed": 0, "skipped": 0, "retry": 0}
    if not pending:
        return summary

    model = ContentType.objects.get_for_id(content_type_id).model_class()
    instance = model._default_manager.filter(pk=object_id).first() if model else None
    if instance is None:
        rows.delete()  # the source is gone: nothing to render, nothing to keep
        return summary

    claimed = [v for v in pending if _claim(v)]
    summary["skipped"] = len(pending) - len(claimed)
    if not claimed:
        return summary
    claimed_ids = [v.pk for v in claimed]

    t0 = time.perf_counter()
    try:
        data = _read_source(getattr(instance, field_name))
    except TRANSIENT as exc:
        retrying = _retry_or_fail(claimed, f"The source image could not be read from storage ({exc}).")
        summary["retry" if retrying else "failed"] = len(claimed)
        return summary
    if data is None or hashlib.sha256(data).hexdigest() != source_hash:
        # Replaced since these rows were made; the newer content has its own rows and job.
        Variant.objects.filter(pk__in=claimed_ids, status=Variant.Status.RUNNING).update(
            status=Variant.Status.STALE, updated_at=timezone.now()
        )
        summary["skipped"] += len(claimed)
        return summary
    read_ms = _ms(t0)

    t0 = time.perf_counter()
    try:
        if len(data) > conf.MAX_SOURCE_BYTES:
            raise ImageTooLargeError(
                f"The image file is {len(data) / 1e6:.1f} MB, above the limit of "
                f"{conf.MAX_SOURCE_BYTES / 1e6:.1f} MB; upload a smaller file."
            )
        image = engine.decode(data, max_pixels=conf.MAX_SOURCE_PIXELS)
    except engine.EngineError as exc:
        for variant in claimed:
            _fail(variant, str(exc))
        summary["failed"] = len(claimed)
        return summary
    decode_ms = _ms(t0)

    references: dict[int, bytes] = {}
    _prepare_batches(engine, claimed, image, references)
    try:
        for variant in claimed:
            outcome = _render_one(engine, variant, image, references, {"read_ms": read_ms, "decode_ms": decode_ms})
            summary[outcome] += 1
    except JobTimeoutException:
        # The job's time limit: fail what this job still held, then let rq record the timeout.
        from rq import get_current_job

        job = get_current_job()
        limit = job.timeout if job and job.timeout else conf.JOB_TIMEOUT
        for variant in claimed:
            _fail(
                variant,
                f"Processing took longer than the {limit} s limit (IMAGEGEN['JOB_TIMEOUT']); "
                "try a smaller output size, or raise the limit.",
            )
        raise
    return summary


def _read_source(fieldfile) -> bytes | None:
    if not fieldfile:
        return None
    with fieldfile.storage.open(fieldfile.name, "rb") as stream:
        return stream.read()


def _claim(variant: Variant) -> bool:
    from rq import get_current_job

    from .worker import current_worker_name

    now = timezone.now()
    job = get_current_job()
    claimed = Variant.objects.filter(pk=variant.pk, status=Variant.Status.PENDING).update(
        status=Variant.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        updated_at=now,
        error="",
        worker_name=current_worker_name(),
        job_id=job.id if job else F("job_id"),
    )
    if claimed:
        variant.refresh_from_db(fields=["attempts", "status", "started_at"])
    return bool(claimed)


def _reference_bytes(variant: Variant, cache: dict[int, bytes]) -> bytes | None:
    style = variant.style
    if style is None or not style.reference:
        return None
    if style.pk not in cache:
        with style.reference.open("rb") as stream:
            cache[style.pk] = stream.read()
    return cache[style.pk]


def _prepare_batches(engine, variants: list[Variant], image, references: dict[int, bytes]) -> None:
    """Variants of this source that one network can render together run as one batch; each
    _render_one then gets its result at once. Any problem here only means no batching."""
    try:
        requests = []
        for variant in variants:
            reference = _reference_bytes(variant, references)
            requests.append((variant.processor, render_parameters(variant, reference), reference, variant.max_size))
    except JobTimeoutException:
        raise
    except Exception:  # noqa: BLE001 - _render_one reports it for the variant concerned
        return
    engine.prepare_batch(image, requests)


def _render_one(engine, variant: Variant, image, references: dict[int, bytes], timings: dict[str, int]) -> str:
    try:
        t0 = time.perf_counter()
        reference = _reference_bytes(variant, references)
        params = render_parameters(variant, reference)  # + the style's stored style vector
        result = engine.render(image, variant.processor, params, reference=reference, max_size=variant.max_size)
        engine.check_thresholds(result.info.get("metrics", {}), conf.QUALITY_THRESHOLDS)
        timings = {**timings, "process_ms": _ms(t0)}
        t0 = time.perf_counter()
        encoded = engine.encode(
            result, variant.requested_format, quality=variant.quality, background=tuple(conf.BACKGROUND)
        )
        timings["encode_ms"] = _ms(t0)
        t0 = time.perf_counter()
        name = save_content(encoded, variant.requested_format)
        timings["save_ms"] = _ms(t0)
    except engine.EngineError as exc:
        if isinstance(exc.__cause__, JobTimeoutException):
            raise exc.__cause__ from None  # the engine wrapped rq's time limit: it is not a processor error
        _fail(variant, str(exc))
        return "failed"
    except TRANSIENT as exc:
        logger.warning("imagegen: transient failure on variant %s: %s", variant.pk, exc)
        return "retry" if _retry_or_fail([variant], f"Saving or processing failed ({exc}).") else "failed"
    except JobTimeoutException:
        raise
    except Exception as exc:  # a bug: fail the row with the reason, keep the worker serving
        logger.exception("imagegen: variant %s failed", variant.pk)
        _fail(variant, f"Processing failed unexpectedly ({type(exc).__name__}: {exc}). The original image is unchanged.")
        return "failed"

    now = timezone.now()
    published = Variant.objects.filter(pk=variant.pk, status=Variant.Status.RUNNING).update(
        status=Variant.Status.READY,
        file=name,
        width=result.width,
        height=result.height,
        file_size=len(encoded),
        format=variant.requested_format,
        timings=timings,
        model_version=f"{variant.processor}@engine-{engine.ENGINE_VERSION}",
        # e.g. "first frame of 12 used": worth showing, but not an error.
        metrics={**result.info.get("metrics", {}), **({"note": result.info["note"]} if result.info.get("note") else {})},
        is_published=F("is_published") if not conf.AUTO_PUBLISH else True,
        error="",
        finished_at=now,
        updated_at=now,
    )
    if not published:
        # Marked stale or deleted while rendering: the result is not published, and its file
        # goes unless an identical output belongs to another row (names are content hashes).
        if not Variant.objects.filter(file=name).exists():
            variant_storage().delete(name)
        return "skipped"
    variant.refresh_from_db()
    variant_ready.send(sender=Variant, variant=variant)
    return "ready"


def _fail(variant: Variant, message: str) -> None:
    now = timezone.now()
    failed = Variant.objects.filter(pk=variant.pk, status=Variant.Status.RUNNING).update(
        status=Variant.Status.FAILED, error=message, finished_at=now, updated_at=now
    )
    if not failed:
        return  # already ready, stale or deleted: nothing failed here
    variant.status, variant.error = Variant.Status.FAILED, message
    variant_failed.send(sender=Variant, variant=variant)


def _retry_or_fail(variants: list[Variant], message: str) -> bool:
    """Back to pending for reconcile to retry later, or failed after MAX_ATTEMPTS."""
    retrying = False
    for variant in variants:
        if variant.attempts >= conf.MAX_ATTEMPTS:
            _fail(variant, f"{message} Gave up after {variant.attempts} attempts.")
        else:
            Variant.objects.filter(pk=variant.pk, status=Variant.Status.RUNNING).update(
                status=Variant.Status.PENDING, error=f"{message} Will retry.", enqueued_at=None, updated_at=timezone.now()
            )
            retrying = True
    return retrying


def warm_styles(style_ids: list[int], pattern: str = "*", mode: str = "missing") -> dict[str, int]:
    """Bulk job: apply styles to every registered source (the Style admin's catalogue action)."""
    from .models import Style
    from .warm import warm

    styles = list(Style.objects.filter(pk__in=style_ids, is_active=True))
    report = warm(pattern, styles=styles, mode=mode, queue="bulk")
    return {"sources": report.sources, "queued": report.queued, "existing": report.existing, "errors": len(report.errors)}
