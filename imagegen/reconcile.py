"""Finding work that fell through the cracks and queueing it again.

Two cases: pending rows whose job never reached Redis (it was down) or vanished, and
running rows whose worker died (SIGKILL, OOM, host lost) so nobody will finish them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .conf import conf
from .models import Variant
from redis.exceptions import RedisError

from .queue import LIVE_STATUSES, enqueue_source, get_queue, job_status
from .worker import worker_alive

logger = logging.getLogger(__name__)


def _alive(variant: Variant, cutoff) -> bool:
    connection = get_queue(variant.queue or "default").connection
    if variant.worker_name:
        return worker_alive(connection, variant.worker_name)
    if variant.started_at >= cutoff:
        return True  # no heartbeat to go by (another worker class): give rq time
    return bool(variant.job_id) and job_status(variant.job_id, variant.queue or "default") in LIVE_STATUSES


@dataclass
class ReconcileReport:
    requeued_jobs: int = 0
    revived_rows: int = 0
    unreachable: bool = False


def reconcile(*, older_than: int | None = None) -> ReconcileReport:
    report = ReconcileReport()
    older_than = conf.RECONCILE_AFTER if older_than is None else older_than
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than)

    # Running rows whose worker is dead (no heartbeat: SIGKILL, OOM, lost host), whose job rq
    # no longer has, or that ran past any possible timeout.
    hard_cutoff = now - timedelta(seconds=conf.JOB_TIMEOUT + 60)
    running = Variant.objects.filter(status=Variant.Status.RUNNING).only(
        "pk", "job_id", "queue", "started_at", "worker_name", "attempts", "content_type_id", "object_id", "field_name", "source_hash"
    )
    dead_jobs = set()
    for variant in running:
        try:
            alive = _alive(variant, cutoff)
        except RedisError as exc:  # Redis down: only the hard timeout can decide
            logger.warning("imagegen: reconcile cannot reach Redis (%s)", exc)
            report.unreachable = True
            alive = True
        if alive and variant.started_at >= hard_cutoff:
            continue
        rows = Variant.objects.filter(pk=variant.pk, status=Variant.Status.RUNNING)
        if variant.attempts >= conf.MAX_ATTEMPTS:
            # Killed every time (e.g. out of memory on this image): stop trying.
            rows.update(
                status=Variant.Status.FAILED,
                error=f"The worker stopped while processing this image {variant.attempts} times "
                "(out of memory, or killed); try a smaller image.",
                finished_at=now,
                updated_at=now,
            )
            continue
        report.revived_rows += rows.update(
            status=Variant.Status.PENDING,
            enqueued_at=None,
            error="The worker processing this variant stopped; it was queued again.",
            updated_at=now,
        )
        dead_jobs.add((variant.content_type_id, variant.object_id, variant.field_name, variant.source_hash, variant.queue))

    if report.unreachable:
        return report
    # A dead worker's job still looks "started" to rq: queue it again regardless.
    keys = list(dead_jobs)
    groups = (
        Variant.objects.filter(status=Variant.Status.PENDING)
        # Rows never enqueued count only once they are old too: a fresh row may be between
        # its commit and its on_commit enqueue.
        .filter(Q(enqueued_at__isnull=True, updated_at__lt=cutoff) | Q(enqueued_at__lt=cutoff))
        .values_list("content_type_id", "object_id", "field_name", "source_hash", "queue")
        .distinct()
    )
    keys += [key for key in groups if key not in dead_jobs]
    for key in keys:
        content_type_id, object_id, field_name, source_hash, queue = key
        job = enqueue_source(content_type_id, object_id, field_name, source_hash, queue=queue or "default", force=key in dead_jobs)
        if job is None:
            report.unreachable = True
            break
        report.requeued_jobs += 1
    # API requests: completions whose signal was missed, and webhook deliveries that are due.
    from .completion import reconcile_requests

    reconcile_requests()
    return report
