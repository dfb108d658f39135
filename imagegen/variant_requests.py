"""A request for variants made through the API: who asked, which rows answer it, and the
webhook to call when they are all done.

The rows themselves stay shared: asking twice for the same variant links the same Variant
to two requests, and costs one render.
"""
from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Variant statuses after which a variant will not change on its own.
SETTLED = ("ready", "failed", "stale")


class VariantRequest(models.Model):
    class WebhookStatus(models.TextChoices):
        NONE = "", _("No callback")
        PENDING = "pending", _("Due")  # waiting for webhook_next_attempt_at
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="imagegen_requests"
    )
    variants = models.ManyToManyField("imagegen.Variant", related_name="requests", blank=True)
    options = models.JSONField(default=dict, blank=True, help_text=_("What was asked: styles, options, format, size, priority"))
    callback_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True, help_text=_("When every variant was settled"))

    webhook_status = models.CharField(max_length=10, choices=WebhookStatus.choices, default="", blank=True, db_index=True)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    webhook_next_attempt_at = models.DateTimeField(null=True, blank=True)
    webhook_enqueued_at = models.DateTimeField(null=True, blank=True)
    webhook_delivered_at = models.DateTimeField(null=True, blank=True)
    webhook_last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["completed_at"], name="imagegen_request_completed")]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else f"request {self.pk}"


def summarise(statuses: list[str]) -> tuple[str, dict[str, int], float]:
    """(status, counts per variant status, progress 0..1) of a request whose variants have
    these statuses. The status is ``pending`` (nothing started), ``running``, or, once every
    variant is settled, ``ready`` (all ready), ``failed`` (none ready) or ``partial``."""
    counts = Counter(statuses)
    total = len(statuses)
    settled = sum(counts[s] for s in SETTLED)
    progress = 1.0 if total == 0 else settled / total
    if settled < total:
        status = "pending" if counts["pending"] == total else "running"
    elif counts["ready"] == total:
        status = "ready"
    elif counts["ready"] == 0:
        status = "failed"
    else:
        status = "partial"
    full = {s: counts[s] for s in ("pending", "running", "ready", "failed", "stale")}
    return status, full, round(progress, 4)
