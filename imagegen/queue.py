"""Putting work on the queues. Jobs carry plain data (ids and a hash), never objects, and
have deterministic ids so the same work is not queued twice.

Redis being down never fails an upload: the pending Variant rows are the outbox, and
``imagegen_reconcile`` (which every imagegen worker also runs periodically) enqueues them.
"""
from __future__ import annotations

import hashlib
import logging
from functools import partial

import django_rq
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from .conf import conf

logger = logging.getLogger(__name__)

LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
JOB_FUNCTION = "imagegen.jobs.process_source"


def job_id_for(content_type_id: int, object_id: str, field_name: str, source_hash: str, queue: str = "default") -> str:
    """The same source content on the same queue always gets the same job id, so it is queued
    once; a high-priority request is not stuck behind the same source's bulk job.
    (rq allows only [A-Za-z0-9_-] in ids.)"""
    key = hashlib.sha256(f"{content_type_id}:{object_id}:{field_name}:{queue_name(queue)}".encode()).hexdigest()[:16]
    return f"imagegen-{content_type_id}-{key}-{source_hash[:16]}"


def queue_name(key: str) -> str:
    """The rq queue for a purpose key ("high", "default", "bulk", "train") or a queue name."""
    return conf.QUEUES.get(key, key)


def get_queue(key: str = "default"):
    return django_rq.get_queue(queue_name(key))


def job_status(job_id: str, key: str = "default") -> str | None:
    """The rq status of a job, or None when Redis has no such job."""
    try:
        return Job.fetch(job_id, connection=get_queue(key).connection).get_status(refresh=False)
    except NoSuchJobError:
        return None


def enqueue_once(queue: str, func: str, *args, job_id: str, job_timeout: int, description: str, force: bool = False) -> None:
    """Enqueue ``func(*args)`` as ``job_id`` unless a job of that id is already queued or
    running (``force`` skips that check). Raises RedisError when Redis can't be reached."""
    if not force and job_status(job_id, queue) in LIVE_STATUSES:
        return
    get_queue(queue).enqueue(
        func,
        *args,
        job_id=job_id,
        job_timeout=job_timeout,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        description=description,
    )


def enqueue_source(
    content_type_id: int, object_id: str, field_name: str, source_hash: str, *, queue: str = "default", force: bool = False
) -> str | None:
    """Enqueue the job that renders a source's pending variants. Returns the job id, or None
    if Redis could not be reached (the rows stay pending for reconcile). ``force`` skips the
    live-job check (reconcile knows that job's worker is dead)."""
    from .models import Variant

    job_id = job_id_for(content_type_id, object_id, field_name, source_hash, queue)
    try:
        enqueue_once(
            queue,
            JOB_FUNCTION,
            content_type_id,
            object_id,
            field_name,
            source_hash,
            job_id=job_id,
            job_timeout=conf.JOB_TIMEOUT,
            description=f"imagegen: render {field_name} of {content_type_id}:{object_id}",
            force=force,
        )
    except RedisError as exc:
        logger.warning("imagegen: Redis unreachable, %s stays pending for reconcile (%s)", job_id, exc)
        return None
    Variant.objects.filter(
        content_type_id=content_type_id,
        object_id=object_id,
        field_name=field_name,
        source_hash=source_hash,
        status=Variant.Status.PENDING,
    ).update(job_id=job_id, enqueued_at=timezone.now())
    return job_id


def enqueue_after_commit(content_type_id: int, object_id: str, field_name: str, source_hash: str, *, queue: str = "default") -> None:
    # robust: whatever goes wrong while enqueueing, the upload that triggered it has committed.
    transaction.on_commit(
        partial(enqueue_source, content_type_id, object_id, field_name, source_hash, queue=queue), robust=True
    )
