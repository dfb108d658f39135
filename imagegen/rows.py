"""State changes of Variant rows made by the worker, each a conditional UPDATE so that two
workers (or a job queued twice) never both own a row, and a row replaced or deleted meanwhile
is left alone."""
from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from .conf import conf
from .models import Variant
from .signals import variant_failed

__all__ = ["claim", "fail", "retry_or_fail"]


def claim(variant: Variant) -> bool:
    """pending -> running, owned by this worker and job; False if another got it first."""
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


def fail(variant: Variant, message: str) -> None:
    """running -> failed with a message for the shop admin, and the variant_failed signal."""
    now = timezone.now()
    failed = Variant.objects.filter(pk=variant.pk, status=Variant.Status.RUNNING).update(
        status=Variant.Status.FAILED, error=message, finished_at=now, updated_at=now
    )
    if not failed:
        return  # already ready, stale or deleted: nothing failed here
    variant.status, variant.error = Variant.Status.FAILED, message
    variant_failed.send(sender=Variant, variant=variant)


def retry_or_fail(variants: list[Variant], message: str) -> bool:
    """Back to pending for reconcile to retry later, or failed after MAX_ATTEMPTS."""
    retrying = False
    for variant in variants:
        if variant.attempts >= conf.MAX_ATTEMPTS:
            fail(variant, f"{message} Gave up after {variant.attempts} attempts.")
        else:
            Variant.objects.filter(pk=variant.pk, status=Variant.Status.RUNNING).update(
                status=Variant.Status.PENDING, error=f"{message} Will retry.", enqueued_at=None, updated_at=timezone.now()
            )
            retrying = True
    return retrying
