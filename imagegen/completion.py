"""Noticing when an API request's variants are all done, and keeping its webhook's outbox.

The worker sends ``variant_ready``/``variant_failed`` after it commits a row; the receivers
here mark a request complete once its last variant settles and queue the webhook delivery
(``imagegen.api.webhooks.deliver``, an rq job: never an HTTP call in a web request).
The database is the outbox, as for renders: ``reconcile_requests`` (run by every imagegen
worker with reconcile) completes requests whose signal was missed, re-queues deliveries
that never reached Redis, and sends retries once their backoff delay has passed.

Nothing here needs Django REST framework; only the delivery job does.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from .conf import conf
from .models import Variant
from .variant_requests import SETTLED, VariantRequest

logger = logging.getLogger(__name__)

DELIVER = "imagegen.api.webhooks.deliver"
WebhookStatus = VariantRequest.WebhookStatus


def complete_if_settled(request_id: int) -> bool:
    """Mark the request complete if every variant is settled (once, whoever gets here first),
    and schedule its webhook. Returns whether this call completed it."""
    statuses = Variant.objects.filter(requests=request_id).values_list("status", flat=True)
    if any(status not in SETTLED for status in statuses):
        return False
    now = timezone.now()
    # A conditional UPDATE: two workers finishing the last two variants at once complete it once.
    if not VariantRequest.objects.filter(pk=request_id, completed_at__isnull=True).update(completed_at=now):
        return False
    has_callback = (
        VariantRequest.objects.filter(pk=request_id)
        .exclude(callback_url="")
        .update(webhook_status=WebhookStatus.PENDING, webhook_next_attempt_at=now)
    )
    if has_callback:
        transaction.on_commit(partial(enqueue_delivery, request_id), robust=True)
    return True


def _on_variant_settled(sender: Any, variant: Variant, **kwargs: Any) -> None:
    try:
        open_requests = VariantRequest.objects.filter(variants=variant.pk, completed_at__isnull=True)
        for request_id in open_requests.values_list("pk", flat=True):
            complete_if_settled(request_id)
    except Exception:  # never break the worker's render loop; reconcile catches up
        logger.exception("imagegen: checking API requests of variant %s failed", variant.pk)


def connect_signals() -> None:
    from .signals import variant_failed, variant_ready

    variant_ready.connect(_on_variant_settled, dispatch_uid="imagegen.completion.ready")
    variant_failed.connect(_on_variant_settled, dispatch_uid="imagegen.completion.failed")


# --- the webhook outbox ------------------------------------------------------------------

def delivery_job_id(request_id: int, attempt: int) -> str:
    return f"imagegen-webhook-{request_id}-{attempt}"


def enqueue_delivery(request_id: int) -> bool:
    """Put the delivery job on the queue. False if Redis is unreachable (reconcile retries)."""
    from .queue import enqueue_once

    row = VariantRequest.objects.filter(
        pk=request_id, webhook_status__in=[WebhookStatus.PENDING, WebhookStatus.QUEUED]
    ).values("webhook_attempts").first()
    if row is None:
        return False
    job_id = delivery_job_id(request_id, row["webhook_attempts"])
    key = conf.WEBHOOK_QUEUE
    try:
        enqueue_once(
            key,
            DELIVER,
            request_id,
            job_id=job_id,
            job_timeout=int(conf.WEBHOOK_TIMEOUT) + 30,
            description=f"imagegen: webhook of API request {request_id}",
        )
    except RedisError as exc:
        logger.warning("imagegen: Redis unreachable, webhook of request %s stays due (%s)", request_id, exc)
        return False
    VariantRequest.objects.filter(
        pk=request_id, webhook_status__in=[WebhookStatus.PENDING, WebhookStatus.QUEUED]
    ).update(webhook_status=WebhookStatus.QUEUED, webhook_enqueued_at=timezone.now())
    return True


def claim_delivery(request_id: int) -> VariantRequest | None:
    """The request, now marked ``sending`` with one more attempt; None if another job has it
    or it is already delivered or given up."""
    claimed = VariantRequest.objects.filter(
        pk=request_id, webhook_status__in=[WebhookStatus.PENDING, WebhookStatus.QUEUED]
    ).update(webhook_status=WebhookStatus.SENDING, webhook_attempts=F("webhook_attempts") + 1, webhook_enqueued_at=timezone.now())
    return VariantRequest.objects.get(pk=request_id) if claimed else None


def finish_delivery(request: VariantRequest, error: str | None, *, permanent: bool = False) -> str:
    """Record an attempt: delivered, due again after the next backoff delay, or failed."""
    now = timezone.now()
    rows = VariantRequest.objects.filter(pk=request.pk, webhook_status=WebhookStatus.SENDING)
    if error is None:
        rows.update(webhook_status=WebhookStatus.DELIVERED, webhook_delivered_at=now, webhook_last_error="")
        return WebhookStatus.DELIVERED
    delays = list(conf.WEBHOOK_RETRY_DELAYS)
    if permanent or request.webhook_attempts > len(delays):
        message = error if permanent else f"{error} Gave up after {request.webhook_attempts} attempts."
        rows.update(webhook_status=WebhookStatus.FAILED, webhook_last_error=message)
        return WebhookStatus.FAILED
    delay = delays[request.webhook_attempts - 1]
    rows.update(
        webhook_status=WebhookStatus.PENDING,
        webhook_next_attempt_at=now + timedelta(seconds=delay),
        webhook_last_error=f"{error} Retrying in {delay} s.",
    )
    return WebhookStatus.PENDING


def reconcile_requests() -> int:
    """Complete requests whose last signal was missed and (re)queue due webhooks. Returns the
    number of deliveries queued."""
    now = timezone.now()
    incomplete = VariantRequest.objects.filter(completed_at__isnull=True).exclude(
        variants__status__in=[Variant.Status.PENDING, Variant.Status.RUNNING]
    )
    for request_id in incomplete.values_list("pk", flat=True):
        complete_if_settled(request_id)
    # A worker that died mid-delivery: the attempt counts, the delivery is due again.
    VariantRequest.objects.filter(
        webhook_status=WebhookStatus.SENDING,
        webhook_enqueued_at__lt=now - timedelta(seconds=int(conf.WEBHOOK_TIMEOUT) + 60),
    ).update(webhook_status=WebhookStatus.PENDING, webhook_next_attempt_at=now)
    lost = now - timedelta(seconds=conf.RECONCILE_AFTER)
    due = VariantRequest.objects.filter(
        webhook_status=WebhookStatus.PENDING, webhook_next_attempt_at__lte=now
    ) | VariantRequest.objects.filter(webhook_status=WebhookStatus.QUEUED, webhook_enqueued_at__lt=lost)
    queued = 0
    for request_id in due.values_list("pk", flat=True):
        if not enqueue_delivery(request_id):
            break  # Redis is down: try again next time
        queued += 1
    return queued
