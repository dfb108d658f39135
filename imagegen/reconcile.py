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
from .queue import LIVE_STATUSES, enqueue_source, job_status

logger = logging.getLogger(__name__)


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

    # Running rows: the job is gone from rq's live states, or ran past any possible timeout.
    hard_cutoff = now - timedelta(seconds=conf.JOB_TIMEOUT + 60)
    for variant in Variant.objects.filter(status=Variant.Status.RUNNING, started_at__lt=cutoff).only("pk", "job_id", "queue", "started_at"):
        try:
            alive = variant.job_id and job_status(variant.job_id, variant.queue or "default") in LIVE_STATUSES
        except Exception as exc:  # Redis down: only the hard timeout can decide
            logger.warning("imagegen: reconcile cannot reach Redis (%s)", exc)
            report.unreachable = True
            alive = variant.started_at >= hard_cutoff
        if not alive or variant.started_at < hard_cutoff:
            report.revived_rows += Variant.objects.filter(pk=variant.pk, status=Variant.Status.RUNNING).update(
                status=Variant.Status.PENDING,
                enqueued_at=None,
                error="The worker processing this variant stopped; it was queued again.",
                updated_at=now,
            )

    groups = (
        Variant.objects.filter(status=Variant.Status.PENDING)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=cutoff))
        .values_list("content_type_id", "object_id", "field_name", "source_hash", "queue")
        .distinct()
    )
    for content_type_id, object_id, field_name, source_hash, queue in groups:
        if enqueue_source(content_type_id, object_id, field_name, source_hash, queue=queue or "default") is None:
            report.unreachable = True
            break
        report.requeued_jobs += 1
    # API requests: completions whose signal was missed, and webhook deliveries that are due.
    from .completion import reconcile_requests

    reconcile_requests()
    return report
