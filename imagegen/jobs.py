"""The job a worker runs for one source image: decode once, render every pending variant.

Arguments are plain data. Rows are claimed with conditional UPDATEs, so two workers racing
on the same source (or the same job queued twice) produce each variant once; a result is
published only if its row is still ``running``, so a source replaced mid-job never gets the
old image's result.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db.models import F
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from .conf import conf
from .job_sources import TRANSIENT, Source, batch_size_for, borrow, claim_source, elapsed_ms, hand_back_on_time_limit, load
from .models import Variant
from .product_masks import attach_masks
from .rows import fail, retry_or_fail
from .signals import variant_ready
from .storage import save_content, variant_storage
from .style_vectors import render_parameters

logger = logging.getLogger(__name__)

# What a job's result counts: variants by outcome, and how many of them were borrowed.
OUTCOMES = ("ready", "failed", "skipped", "retry", "borrowed")


def process_source(content_type_id: int, object_id: str, field_name: str, source_hash: str) -> dict[str, Any]:
    """Render every pending variant of one source's content. Rows requested while this job
    runs are picked up by a second pass rather than waiting for reconcile."""
    total = dict.fromkeys(OUTCOMES, 0)
    for _ in range(3):
        summary = _process_pending(content_type_id, object_id, field_name, source_hash)
        for key, value in summary.items():
            total[key] += value
        if not any(summary.values()):
            break
    return total


def _process_pending(content_type_id: int, object_id: str, field_name: str, source_hash: str) -> dict[str, int]:
    from . import engine  # torch: loaded in the worker, never in the web process

    summary = dict.fromkeys(OUTCOMES, 0)
    own = claim_source((content_type_id, object_id, field_name, source_hash), None, summary)
    if own is None:
        return summary
    load([own], engine, summary)
    if own.image is None:
        return summary
    sources = [own]
    batch_size = batch_size_for(engine)
    if batch_size > 1:
        sources += borrow(own, engine, batch_size, summary)

    references: dict[int, bytes] = {}
    rendered: set[int] = set()
    try:
        # inside the time limit's hand-back: segmenting a large photo on a CPU takes a while
        attach_masks(sources, engine, summary)  # once per content hash, stored (product_masks.py)
        _prepare_batches(engine, sources, references, batch_size)
        _render_all(engine, sources, references, summary, rendered)
    except JobTimeoutException:
        hand_back_on_time_limit(sources, rendered)
        raise
    return summary


def _reference_bytes(variant: Variant, cache: dict[int, bytes]) -> bytes | None:
    style = variant.style
    if style is None or not style.reference:
        return None
    if style.pk not in cache:
        with style.reference.open("rb") as stream:
            cache[style.pk] = stream.read()
    return cache[style.pk]


def _prepare_batches(engine, sources: list[Source], references: dict[int, bytes], batch_size: int) -> None:
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


def _render_all(engine, sources: list[Source], references: dict[int, bytes], summary: dict[str, int], rendered: set[int]) -> None:
    """Render every claimed variant. The network runs on this thread; encoding and saving run
    on two helper threads (Pillow's encoders and storage writes release the GIL), so the
    next render does not wait for the last one's WebP encoder or S3 upload. Results are
    published in order, each with its own outcome."""
    in_flight: deque[tuple[Source, Variant, Any, Future]] = deque()

    def count(source: Source, variant: Variant, outcome: str) -> None:
        rendered.add(variant.pk)
        summary[outcome] += 1
        summary["borrowed"] += source.borrowed

    def publish_first() -> None:
        source, variant, result, future = in_flight.popleft()
        _, outcome = _settle(engine, variant, lambda: _publish(engine, variant, result, *future.result()))
        count(source, variant, outcome)  # "ready"/"skipped" from _publish, or the failure's outcome

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="imagegen-encode") as pool:
        for source in sources:
            for variant in source.variants:
                timings = dict(source.timings)
                ok, value = _settle(engine, variant, lambda: _render(engine, variant, source.image, references, timings))
                if ok:
                    in_flight.append((source, variant, value, pool.submit(_encode_and_save, engine, variant, value, timings)))
                else:
                    count(source, variant, value)
                while in_flight and (in_flight[0][3].done() or len(in_flight) > 2):
                    publish_first()
        while in_flight:
            publish_first()


def _render(engine, variant: Variant, image, references: dict[int, bytes], timings: dict[str, int]):
    t0 = time.perf_counter()
    reference = _reference_bytes(variant, references)
    params = render_parameters(variant, reference)  # + the style's stored style vector
    result = engine.render(
        image, variant.processor, params, reference=reference, max_size=variant.max_size, background=tuple(conf.BACKGROUND)
    )
    engine.check_thresholds(result.info.get("metrics", {}), conf.QUALITY_THRESHOLDS)
    timings["process_ms"] = elapsed_ms(t0)
    return result


def _encode_and_save(engine, variant: Variant, result, timings: dict[str, int]) -> tuple[bytes, str, dict[str, int]]:
    """Runs on a helper thread: no database access here."""
    t0 = time.perf_counter()
    encoded = engine.encode(result, variant.requested_format, quality=variant.quality, background=tuple(conf.BACKGROUND))
    timings["encode_ms"] = elapsed_ms(t0)
    t0 = time.perf_counter()
    name = save_content(encoded, variant.requested_format)
    timings["save_ms"] = elapsed_ms(t0)
    return encoded, name, timings


def _settle(engine, variant: Variant, step: Callable[[], Any]) -> tuple[bool, Any]:
    """(True, what ``step()`` returned), or (False, the row's outcome: "failed" or "retry")
    when it raised; a failure is this variant's, never the other variants'."""
    try:
        return True, step()
    except engine.EngineError as exc:
        if isinstance(exc.__cause__, JobTimeoutException):
            raise exc.__cause__ from None  # the engine wrapped rq's time limit: it is not a processor error
        fail(variant, str(exc))
        return False, "failed"
    except TRANSIENT as exc:
        logger.warning("imagegen: transient failure on variant %s: %s", variant.pk, exc)
        return False, "retry" if retry_or_fail([variant], f"Saving or processing failed ({exc}).") else "failed"
    except JobTimeoutException:
        raise
    except Exception as exc:  # a bug: fail the row with the reason, keep the worker serving
        logger.exception("imagegen: variant %s failed", variant.pk)
        fail(variant, f"Processing failed unexpectedly ({type(exc).__name__}: {exc}). The original image is unchanged.")
        return False, "failed"


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
        is_published=True if auto_publish(variant) else F("is_published"),
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


def auto_publish(variant: Variant) -> bool:
    """Registered specs follow AUTO_PUBLISH; ad-hoc requests wait for approval unless
    PUBLISH_REQUESTS. A variant an admin rejected stays unpublished when re-rendered."""
    if variant.review == Variant.Review.REJECTED:
        return False
    if variant.origin == Variant.Origin.REQUEST:
        return bool(conf.PUBLISH_REQUESTS)
    return bool(conf.AUTO_PUBLISH)


def warm_styles(style_ids: list[int], pattern: str = "*", mode: str = "missing") -> dict[str, int]:
    """Bulk job: apply styles to every registered source (the Style admin's catalogue action)."""
    from .models import Style
    from .warm import warm

    styles = list(Style.objects.filter(pk__in=style_ids, is_active=True))
    report = warm(pattern, styles=styles, mode=mode, queue="bulk")
    return {"sources": report.sources, "queued": report.queued, "existing": report.existing, "errors": len(report.errors)}
