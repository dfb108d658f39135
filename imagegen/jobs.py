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
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Q
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
    total = {"ready": 0, "failed": 0, "skipped": 0, "retry": 0, "borrowed": 0}
    for _ in range(3):
        summary = _process_pending(content_type_id, object_id, field_name, source_hash)
        for key, value in summary.items():
            total[key] += value
        if not any(summary.values()):
            break
    return total


@dataclass
class _Source:
    """One source's content in this job: the rows claimed for it and, once read, its image.
    ``borrowed``: another source's rows taken into this job's network batch."""

    content_type_id: int
    object_id: str
    field_name: str
    source_hash: str
    instance: Any
    variants: list[Variant]
    borrowed: bool = False
    image: Any = None
    timings: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.content_type_id, self.object_id, self.field_name, self.source_hash)


def _process_pending(content_type_id: int, object_id: str, field_name: str, source_hash: str) -> dict[str, int]:
    from . import engine  # torch: loaded in the worker, never in the web process

    summary = {"ready": 0, "failed": 0, "skipped": 0, "retry": 0, "borrowed": 0}
    own = _claim_source((content_type_id, object_id, field_name, source_hash), None, summary)
    if own is None:
        return summary
    _load([own], engine, summary)
    if own.image is None:
        return summary
    sources = [own]
    batch_size = batch_size_for(engine)
    if batch_size > 1:
        sources += _borrow(own, engine, batch_size, summary)

    references: dict[int, bytes] = {}
    _prepare_batches(engine, sources, references, batch_size)
    rendered: set[int] = set()
    try:
        _render_all(engine, sources, references, summary, rendered)
    except JobTimeoutException:
        _on_time_limit(sources, rendered)
        raise
    return summary


def batch_size_for(engine) -> int:
    """Renders per network call: IMAGEGEN['BATCH_SIZE'], or by default 8 on a CUDA worker and
    1 (no batching) on a CPU worker, where batches measured slower (docs/benchmarks.md)."""
    if conf.BATCH_SIZE is not None:
        return int(conf.BATCH_SIZE)
    return 8 if engine.get_device().type == "cuda" else 1


def _claim_source(key: tuple[int, str, str, str], only: list[Variant] | None, summary: dict[str, int]) -> _Source | None:
    """Claim the pending rows of one source's content (``only``: just these of them)."""
    content_type_id, object_id, field_name, source_hash = key
    rows = Variant.objects.filter(
        content_type_id=content_type_id, object_id=object_id, field_name=field_name, source_hash=source_hash
    )
    pending = only if only is not None else list(rows.filter(status=Variant.Status.PENDING).select_related("style"))
    if not pending:
        return None
    model = ContentType.objects.get_for_id(content_type_id).model_class()
    instance = model._default_manager.filter(pk=object_id).first() if model else None
    if instance is None:
        rows.delete()  # the source is gone: nothing to render, nothing to keep
        return None
    claimed = [v for v in pending if _claim(v)]
    summary["skipped"] += len(pending) - len(claimed)
    if not claimed:
        return None
    return _Source(content_type_id, object_id, field_name, source_hash, instance, claimed, borrowed=only is not None)


def _load(sources: list[_Source], engine, summary: dict[str, int]) -> None:
    """Read and decode each source (in threads when there are several: storage reads and
    Pillow's decoders release the GIL), then settle the rows of those that cannot be used."""
    files = [getattr(source.instance, source.field_name) for source in sources]
    if len(sources) == 1:
        outcomes = [_read_and_decode(engine, files[0], sources[0].source_hash)]
    else:
        with ThreadPoolExecutor(max_workers=min(4, len(sources)), thread_name_prefix="imagegen-decode") as pool:
            outcomes = list(pool.map(_read_and_decode, [engine] * len(sources), files, [s.source_hash for s in sources]))
    for source, (kind, value, timings) in zip(sources, outcomes):
        source.timings = timings
        if kind == "image":
            source.image = value
        elif kind == "transient":
            retrying = _retry_or_fail(source.variants, f"The source image could not be read from storage ({value}).")
            summary["retry" if retrying else "failed"] += len(source.variants)
        elif kind == "replaced":
            # Replaced since these rows were made; the newer content has its own rows and job.
            Variant.objects.filter(pk__in=[v.pk for v in source.variants], status=Variant.Status.RUNNING).update(
                status=Variant.Status.STALE, updated_at=timezone.now()
            )
            summary["skipped"] += len(source.variants)
        else:  # the upload itself: a message the shop admin can act on
            for variant in source.variants:
                _fail(variant, value)
            summary["failed"] += len(source.variants)


def _read_and_decode(engine, fieldfile, source_hash: str) -> tuple[str, Any, dict[str, int]]:
    """("image", Image, timings), ("transient", exc, {}), ("replaced", None, {}) or
    ("bad", message, {}). Touches no database: it may run in a thread."""
    t0 = time.perf_counter()
    try:
        data = _read_source(fieldfile)
    except TRANSIENT as exc:
        return "transient", exc, {}
    if data is None or hashlib.sha256(data).hexdigest() != source_hash:
        return "replaced", None, {}
    timings = {"read_ms": _ms(t0)}
    t0 = time.perf_counter()
    try:
        if len(data) > conf.MAX_SOURCE_BYTES:
            raise ImageTooLargeError(
                f"The image file is {len(data) / 1e6:.1f} MB, above the limit of "
                f"{conf.MAX_SOURCE_BYTES / 1e6:.1f} MB; upload a smaller file."
            )
        image = engine.decode(data, max_pixels=conf.MAX_SOURCE_PIXELS)
    except engine.EngineError as exc:
        return "bad", str(exc), {}
    timings["decode_ms"] = _ms(t0)
    return "image", image, timings


def _borrow(own: _Source, engine, batch_size: int, summary: dict[str, int]) -> list[_Source]:
    """Pending variants of other sources that can share this job's network batches (same
    processor and output size, same queue): up to ``batch_size`` renders in all, waiting at
    most IMAGEGEN['BATCH_WAIT_MS'] for more to arrive. Each keeps its own source's checks."""
    kinds = {(v.processor, v.max_size) for v in own.variants if engine.can_batch(v.processor)}
    if not kinds:
        return []
    need = batch_size - sum((v.processor, v.max_size) in kinds for v in own.variants)
    same_kind = Q()
    for processor, max_size in kinds:
        same_kind |= Q(processor=processor, max_size=max_size)
    queue = own.variants[0].queue
    deadline = time.perf_counter() + conf.BATCH_WAIT_MS / 1000
    borrowed: list[_Source] = []
    while need > 0:
        candidates = list(
            Variant.objects.filter(same_kind, status=Variant.Status.PENDING, queue=queue)
            .exclude(content_type_id=own.content_type_id, object_id=own.object_id, field_name=own.field_name)
            .select_related("style")
            .order_by("created_at", "pk")[:need]
        )
        by_source: dict[tuple[int, str, str, str], list[Variant]] = {}
        for variant in candidates:
            by_source.setdefault((variant.content_type_id, variant.object_id, variant.field_name, variant.source_hash), []).append(variant)
        claimed = [s for s in (_claim_source(key, rows, summary) for key, rows in by_source.items()) if s is not None]
        if claimed:
            _load(claimed, engine, summary)
            usable = [s for s in claimed if s.image is not None]
            borrowed += usable
            need -= sum(len(s.variants) for s in usable)
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        if not candidates:
            time.sleep(min(0.01, remaining))  # wait a little for uploads still arriving
    return borrowed


def _on_time_limit(sources: list[_Source], rendered: set[int]) -> None:
    """The job's time limit: fail what this job's own source still held (rq records the
    timeout); another source's borrowed rows are not its to fail, so they go back to their
    own job."""
    from rq import get_current_job

    from .queue import enqueue_source

    job = get_current_job()
    limit = job.timeout if job and job.timeout else conf.JOB_TIMEOUT
    for source in sources:
        left = [v for v in source.variants if v.pk not in rendered]
        if not left:
            continue
        if not source.borrowed:
            for variant in left:
                _fail(
                    variant,
                    f"Processing took longer than the {limit} s limit (IMAGEGEN['JOB_TIMEOUT']); "
                    "try a smaller output size, or raise the limit.",
                )
            continue
        Variant.objects.filter(pk__in=[v.pk for v in left], status=Variant.Status.RUNNING).update(
            status=Variant.Status.PENDING, enqueued_at=None, updated_at=timezone.now()
        )
        enqueue_source(*source.key, queue=left[0].queue or "default")


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


def _prepare_batches(engine, sources: list[_Source], references: dict[int, bytes], batch_size: int) -> None:
    """Variants that one network can render together (of this source, or borrowed from
    others) run as batches; each render then gets its result at once. Any problem here
    only means no batching."""
    if batch_size < 2:
        return
    try:
        items = []
        for source in sources:
            for variant in source.variants:
                reference = _reference_bytes(variant, references)
                params = render_parameters(variant, reference)
                items.append(engine.BatchItem(source.image, variant.processor, params, reference, variant.max_size))
    except JobTimeoutException:
        raise
    except Exception:  # noqa: BLE001 - the render reports it for the variant concerned
        return
    prepared = engine.prepare_batch(items, max_batch=batch_size)
    if prepared:
        logger.info("imagegen: %d renders of %d sources ran in network batches", prepared, len(sources))


def _render_all(engine, sources: list[_Source], references: dict[int, bytes], summary: dict[str, int], rendered: set[int]) -> None:
    """Render every claimed variant. The network runs on this thread; encoding and saving run
    on two helper threads (Pillow's encoders and storage writes release the GIL), so the
    next render does not wait for the last one's WebP encoder or S3 upload. Results are
    published in order, each with its own outcome."""
    in_flight: deque[tuple[_Source, Variant, Any, Future]] = deque()

    def publish_first() -> None:
        source, variant, result, future = in_flight.popleft()
        outcome = _settle(variant, lambda: _publish(engine, variant, result, *future.result()))
        rendered.add(variant.pk)
        summary[outcome] += 1
        summary["borrowed"] += source.borrowed

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="imagegen-encode") as pool:
        for source in sources:
            for variant in source.variants:
                timings = dict(source.timings)
                result: list = []
                outcome = _settle(variant, lambda: result.append(_render(engine, variant, source.image, references, timings)))
                if result:
                    future = pool.submit(_encode_and_save, engine, variant, result[0], timings)
                    in_flight.append((source, variant, result[0], future))
                else:
                    rendered.add(variant.pk)
                    summary[outcome] += 1
                    summary["borrowed"] += source.borrowed
                while in_flight and (in_flight[0][3].done() or len(in_flight) > 2):
                    publish_first()
        while in_flight:
            publish_first()


def _render(engine, variant: Variant, image, references: dict[int, bytes], timings: dict[str, int]):
    t0 = time.perf_counter()
    reference = _reference_bytes(variant, references)
    params = render_parameters(variant, reference)  # + the style's stored style vector
    result = engine.render(image, variant.processor, params, reference=reference, max_size=variant.max_size)
    engine.check_thresholds(result.info.get("metrics", {}), conf.QUALITY_THRESHOLDS)
    timings["process_ms"] = _ms(t0)
    return result


def _encode_and_save(engine, variant: Variant, result, timings: dict[str, int]) -> tuple[bytes, str, dict[str, int]]:
    """Runs on a helper thread: no database access here."""
    t0 = time.perf_counter()
    encoded = engine.encode(result, variant.requested_format, quality=variant.quality, background=tuple(conf.BACKGROUND))
    timings["encode_ms"] = _ms(t0)
    t0 = time.perf_counter()
    name = save_content(encoded, variant.requested_format)
    timings["save_ms"] = _ms(t0)
    return encoded, name, timings


def _settle(variant: Variant, step) -> str:
    """Run one step for ``variant``; a failure becomes the row's outcome ("failed", "retry"),
    never the other variants'. Returns "ready" when the step went through."""
    from . import engine

    try:
        return step() or "ready"
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


def _publish(engine, variant: Variant, result, encoded: bytes, name: str, timings: dict[str, int]) -> str:
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
