"""Webhook delivery: a signed POST to a request's callback URL once its variants are done.

Runs as an rq job on an imagegen worker (``imagegen.completion`` queues it), never in a web
request. Each attempt is one POST with a timeout; redirects are not followed. A non-2xx
answer or a network error is retried after ``IMAGEGEN["WEBHOOK_RETRY_DELAYS"]`` (the worker's
reconcile sends retries once due), then the delivery is marked failed.

Signature: header ``X-Imagegen-Signature: t=<unix time>,v1=<hex>`` where ``hex`` is
HMAC-SHA256 with ``IMAGEGEN["WEBHOOK_SECRET"]`` over ``"<t>." + body``. Receivers check it
with :func:`verify` (or the few lines in docs/api.md) and reject old timestamps.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http.request import validate_host

from ..completion import claim_delivery, finish_delivery
from ..conf import conf
from ..models import Variant
from ..variant_requests import VariantRequest

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Imagegen-Signature"
EVENT = "request.completed"


def sign(body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(body: bytes, header: str, secret: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made less than ``tolerance`` s ago."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def payload(request: VariantRequest) -> bytes:
    """The body: the same representation as ``GET jobs/{id}/`` (URLs as storage gives them)."""
    from .serializers import RequestSerializer

    request = VariantRequest.objects.prefetch_related(
        Prefetch("variants", queryset=Variant.objects.select_related("style").order_by("pk"))
    ).get(pk=request.pk)
    data = {"event": EVENT, "request": RequestSerializer(request, context={}).data}
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead off the allow-list; a 3xx is an error the receiver must fix.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST and return the HTTP status (raises urllib errors for non-2xx and network errors)."""
    opener = urllib.request.build_opener(_NoRedirects)
    http_request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with opener.open(http_request, timeout=timeout) as response:
        return response.status


def deliver(request_id: int) -> str:
    """The rq job: one delivery attempt. Returns the webhook status afterwards."""
    request = claim_delivery(request_id)
    if request is None:
        return "skipped"
    host = urlsplit(request.callback_url).hostname or ""
    if not validate_host(host, list(conf.WEBHOOK_ALLOWED_HOSTS)) or not conf.WEBHOOK_SECRET:
        return finish_delivery(
            request, f"Host {host!r} is no longer in IMAGEGEN['WEBHOOK_ALLOWED_HOSTS'] (or no secret is set); not sent.",
            permanent=True,
        )
    body = payload(request)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "imagegen-webhook/1",
        "X-Imagegen-Event": EVENT,
        "X-Imagegen-Delivery": f"{request.pk}-{request.webhook_attempts}",
        SIGNATURE_HEADER: sign(body, conf.WEBHOOK_SECRET, timestamp),
    }
    try:
        post(request.callback_url, body, headers, timeout=float(conf.WEBHOOK_TIMEOUT))
    except urllib.error.HTTPError as exc:
        error = f"The callback answered HTTP {exc.code}."
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        error = f"The callback could not be reached ({reason})."
    else:
        error = None
    outcome = finish_delivery(request, error)
    if error:
        logger.warning("imagegen: webhook of request %s, attempt %s: %s", request.pk, request.webhook_attempts, error)
    return outcome
