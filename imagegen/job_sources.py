"""The sources a render job works on: its own, and, for batching, other sources' pending
variants of the same network ("borrowed"). Claiming rows, reading and decoding each source
(in threads when there are several), and handing borrowed rows back at a time limit.

Each source keeps its own checks: a broken or replaced upload fails or goes stale alone.
"""
from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone

from .conf import conf
from .engine.errors import ImageTooLargeError
from .models import Variant
from .rows import claim, fail, retry_or_fail

__all__ = ["Source", "claim_source", "load", "borrow", "batch_size_for", "hand_back_on_time_limit", "elapsed_ms", "TRANSIENT"]

# Failures worth retrying: the storage or the machine, not the image.
TRANSIENT = (OSError, ConnectionError, TimeoutError, MemoryError)


def elapsed_ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


@dataclass
class Source:
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


def batch_size_for(engine) -> int:
    """Renders per network call: IMAGEGEN['BATCH_SIZE'], or by default 8 on a CUDA worker and
    1 (no batching) on a CPU worker, where batches measured slower (docs/benchmarks.md)."""
    if conf.BATCH_SIZE is not None:
        return int(conf.BATCH_SIZE)
    return 8 if engine.get_device().type == "cuda" else 1


def claim_source(key: tuple[int, str, str, str], only: list[Variant] | None, summary: dict[str, int]) -> Source | None:
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
    claimed = [v for v in pending if claim(v)]
    summary["skipped"] += len(pending) - len(claimed)
    if not claimed:
        return None
    return Source(content_type_id, object_id, field_name, source_hash, instance, claimed, borrowed=only is not None)


def load(sources: list[Source], engine, summary: dict[str, int]) -> None:
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
            retrying = retry_or_fail(source.variants, f"The source image could not be read from storage ({value}).")
            summary["retry" if retrying else "failed"] += len(source.variants)
        elif kind == "replaced":
            # Replaced since these rows were made; the newer content has its own rows and job.
            Variant.objects.filter(pk__in=[v.pk for v in source.variants], status=Variant.Status.RUNNING).update(
                status=Variant.Status.STALE, updated_at=timezone.now()
            )
            summary["skipped"] += len(source.variants)
        else:  # the upload itself: a message the shop admin can act on
            for variant in source.variants:
                fail(variant, value)
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
    timings = {"read_ms": elapsed_ms(t0)}
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
    timings["decode_ms"] = elapsed_ms(t0)
    return "image", image, timings


def borrow(own: Source, engine, batch_size: int, summary: dict[str, int]) -> list[Source]:
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
    borrowed: list[Source] = []
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
        claimed = [s for s in (claim_source(key, rows, summary) for key, rows in by_source.items()) if s is not None]
        if claimed:
            load(claimed, engine, summary)
            usable = [s for s in claimed if s.image is not None]
            borrowed += usable
            need -= sum(len(s.variants) for s in usable)
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        if not candidates:
            time.sleep(min(0.01, remaining))  # wait a little for uploads still arriving
    return borrowed


def hand_back_on_time_limit(sources: list[Source], rendered: set[int]) -> None:
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
                fail(
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
