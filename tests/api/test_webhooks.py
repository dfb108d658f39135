"""Webhooks: signed POSTs to a real local HTTP server, retried with backoff, only to allowed
hosts; and the whole path through a real worker."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import timezone

from imagegen.api.webhooks import SIGNATURE_HEADER, deliver, sign, verify
from imagegen.completion import complete_if_settled, delivery_job_id, reconcile_requests
from imagegen.models import Variant
from imagegen.queue import get_queue
from imagegen.variant_requests import VariantRequest

from ..conftest import wait_for
from .conftest import mark_ready

SECRET = "test-webhook-secret"  # tests/settings.py
API = "/api/imagegen"


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers with scripted status codes."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = list(codes)
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                if code in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/imagegen"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([]) as server:
        yield server


def due_request(catalogue, url: str) -> VariantRequest:
    """A completed request whose webhook is queued (as complete_if_settled leaves it)."""
    request = VariantRequest.objects.create(callback_url=url, completed_at=timezone.now(), webhook_status="queued")
    request.variants.add(catalogue.variant(catalogue.public_image))
    return request


# --- signatures ---------------------------------------------------------------------------

def test_signatures_verify_and_reject_tampering_and_old_timestamps():
    body = b'{"event":"request.completed"}'
    now = int(time.time())
    header = sign(body, SECRET, now)
    assert header.startswith(f"t={now},v1=") and len(header.split("v1=")[1]) == 64
    assert verify(body, header, SECRET)
    assert not verify(body + b" ", header, SECRET)
    assert not verify(body, header, "other-secret")
    assert not verify(body, sign(body, SECRET, now - 3600), SECRET)
    assert not verify(body, "garbage", SECRET)


# --- one delivery attempt, in process -------------------------------------------------------

@pytest.mark.django_db
def test_a_delivery_is_a_signed_post_of_the_request(catalogue, receiver):
    request = due_request(catalogue, receiver.url)
    assert deliver(request.pk) == "delivered"
    (hit,) = receiver.received
    assert hit["path"] == "/hooks/imagegen"
    assert verify(hit["body"], hit["headers"][SIGNATURE_HEADER], SECRET)
    assert hit["headers"]["X-Imagegen-Event"] == "request.completed"
    assert hit["headers"]["X-Imagegen-Delivery"] == f"{request.pk}-1"
    payload = json.loads(hit["body"])
    assert payload["event"] == "request.completed"
    assert payload["request"]["id"] == request.pk and payload["request"]["status"] == "ready"
    assert payload["request"]["variants"][0]["url"].endswith(".webp")
    request.refresh_from_db()
    assert (request.webhook_status, request.webhook_attempts, request.webhook_last_error) == ("delivered", 1, "")
    assert request.webhook_delivered_at
    assert deliver(request.pk) == "skipped" and len(receiver.received) == 1  # never twice


@pytest.mark.django_db
def test_failures_back_off_then_give_up(catalogue):
    with Receiver([500, 503, 500, 500]) as server:
        request = due_request(catalogue, server.url)
        before = timezone.now()
        assert deliver(request.pk) == "pending"
        request.refresh_from_db()
        assert request.webhook_attempts == 1 and "HTTP 500" in request.webhook_last_error
        assert request.webhook_next_attempt_at >= before + timedelta(seconds=1)  # WEBHOOK_RETRY_DELAYS[0]
        for attempt in (2, 3):
            assert deliver(request.pk) == "pending"
        assert deliver(request.pk) == "failed"  # 1 try + 3 retries
        request.refresh_from_db()
        assert request.webhook_attempts == 4 and "Gave up after 4 attempts" in request.webhook_last_error
        assert len(server.received) == 4


@pytest.mark.django_db
def test_redirects_are_not_followed(catalogue):
    with Receiver([302]) as server:
        request = due_request(catalogue, server.url)
        assert deliver(request.pk) == "pending"
        request.refresh_from_db()
        assert "HTTP 302" in request.webhook_last_error and len(server.received) == 1


@pytest.mark.django_db
def test_an_unreachable_receiver_is_retried(catalogue):
    request = due_request(catalogue, "http://127.0.0.1:9/nothing-listens-here")
    assert deliver(request.pk) == "pending"
    request.refresh_from_db()
    assert "could not be reached" in request.webhook_last_error


@pytest.mark.django_db
def test_a_host_removed_from_the_allow_list_is_not_called(catalogue, receiver):
    request = due_request(catalogue, receiver.url)
    with override_settings(IMAGEGEN={"WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOWED_HOSTS": ["hooks.example.com"]}):
        assert deliver(request.pk) == "failed"
    assert receiver.received == []
    request.refresh_from_db()
    assert "no longer in IMAGEGEN['WEBHOOK_ALLOWED_HOSTS']" in request.webhook_last_error


# --- the outbox: completion and queueing on real Redis ------------------------------------

@pytest.mark.django_db(transaction=True)
def test_completion_queues_one_delivery_and_reconcile_requeues_due_retries(catalogue, redis_conn, requester_client):
    made = requester_client.post(
        f"{API}/jobs/", {"sources": [catalogue.public_ref], "styles": ["vintage"], "callback_url": "http://127.0.0.1:9/x"}, format="json"
    ).json()
    request = VariantRequest.objects.get(pk=made["id"])
    assert not complete_if_settled(request.pk)  # still pending
    mark_ready(request.variants.get())
    assert complete_if_settled(request.pk) and not complete_if_settled(request.pk)  # exactly once
    request.refresh_from_db()
    assert request.completed_at and request.webhook_status == "queued"
    queue = get_queue("high")
    assert delivery_job_id(request.pk, 0) in queue.job_ids
    # A retry that is due is queued by reconcile (as every imagegen worker runs it).
    VariantRequest.objects.filter(pk=request.pk).update(
        webhook_status="pending", webhook_attempts=1, webhook_next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert reconcile_requests() == 1
    assert delivery_job_id(request.pk, 1) in queue.job_ids
    # Not yet due: nothing queued.
    VariantRequest.objects.filter(pk=request.pk).update(
        webhook_status="pending", webhook_attempts=2, webhook_next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    assert reconcile_requests() == 0


@pytest.mark.django_db(transaction=True)
def test_reconcile_completes_requests_whose_signal_was_missed(catalogue, redis_conn):
    request = VariantRequest.objects.create()
    variant = catalogue.variant(catalogue.public_image, "sunset")
    request.variants.add(variant)
    Variant.objects.filter(pk=variant.pk).update(status=Variant.Status.FAILED, error="boom")  # no signal sent
    reconcile_requests()
    request.refresh_from_db()
    assert request.completed_at is not None and request.webhook_status == ""


# --- end to end: API → real worker → signal → webhook job → local server -----------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_request_with_a_callback_is_delivered_by_the_worker_with_one_retry(worker, requester_client, catalogue):
    with Receiver([500, 200]) as server:
        made = requester_client.post(
            f"{API}/jobs/",
            {"sources": [catalogue.public_ref], "styles": ["vintage"], "options": {"strength": 0.5}, "size": 64, "callback_url": server.url},
            format="json",
        )
        assert made.status_code == 202, made.json()
        wait_for(lambda: len(server.received) >= 2, timeout=120, message="two webhook deliveries")
    request = VariantRequest.objects.get(pk=made.json()["id"])
    wait_for(lambda: VariantRequest.objects.get(pk=request.pk).webhook_status == "delivered", timeout=10)
    request.refresh_from_db()
    assert request.webhook_attempts == 2 and request.completed_at
    first, second = server.received
    for hit in (first, second):
        assert verify(hit["body"], hit["headers"][SIGNATURE_HEADER], SECRET)
    assert second["headers"]["X-Imagegen-Delivery"] == f"{request.pk}-2"
    payload = json.loads(second["body"])["request"]
    assert payload["status"] == "ready", (payload, worker.output()[-3000:])
    (variant,) = payload["variants"]
    assert variant["style"] == "vintage" and variant["width"] <= 64 and variant["url"]
    # The API shows the same.
    body = requester_client.get(f"{API}/jobs/{request.pk}/").json()
    assert body["status"] == "ready" and body["webhook"]["status"] == "delivered"
