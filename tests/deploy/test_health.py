"""Health endpoints on real services: /healthz (database + Redis) and /healthz/workers (live
imagegen workers from rq's worker registry, heartbeats included)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import django_rq
import pytest
from django.db import connections

from ..conftest import wait_for
from ..s3.fixtures import free_port

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = ["imagegen-high", "imagegen", "imagegen-bulk", "imagegen-train"]


def test_healthz_reports_database_and_redis(client, redis_conn):
    django_rq.get_queue("imagegen").enqueue("imagegen.jobs.process_source", 0, "0", "image", "0" * 64)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["vendor"] == connections["default"].vendor
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["redis"]["queued"] == {"imagegen-high": 0, "imagegen": 1, "imagegen-bulk": 0, "imagegen-train": 0}


def test_healthz_is_503_when_redis_is_down(client, redis_conn, monkeypatch):
    for name, config in django_rq.settings.QUEUES.items():
        monkeypatch.setitem(django_rq.settings.QUEUES, name, {**config, "URL": f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=1"})

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError", "ms": body["checks"]["redis"]["ms"]}


def test_healthz_is_503_when_the_database_is_down(client, redis_conn):
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/db.sqlite3"
    else:
        connection.settings_dict["PORT"] = str(free_port())
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is False and body["checks"]["database"]["error"] == "OperationalError"
    assert body["checks"]["redis"]["ok"] is True
    assert "nonexistent" not in response.content.decode()  # no connection details leak


def test_healthz_is_never_redirected_to_https(client, redis_conn, settings):
    # Production redirects HTTP to HTTPS; load balancers check health over plain HTTP.
    # (The same rule as shop/settings_production.py; test_topology runs that module for real.)
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz(/|$)"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz/workers").status_code in (200, 503)
    assert client.get("/").status_code == 301


def test_workers_endpoint_lists_live_workers_and_their_heartbeat(client, admin_client, start_worker):
    response = client.get("/healthz/workers")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "workers": 0, "queues": dict.fromkeys(QUEUES, 0), "unserved": QUEUES}

    worker = start_worker("imagegen-high", "imagegen")
    wait_for(lambda: client.get("/healthz/workers").status_code == 200, timeout=60, message="the worker to register")

    body = client.get("/healthz/workers").json()
    assert body["workers"] == 1
    assert body["queues"] == {"imagegen-high": 1, "imagegen": 1, "imagegen-bulk": 0, "imagegen-train": 0}
    assert body["unserved"] == ["imagegen-bulk", "imagegen-train"]
    assert "details" not in body  # host names and pids are for staff only

    (details,) = admin_client.get("/healthz/workers").json()["details"]
    assert details["pid"] == worker.proc.pid
    assert details["queues"] == ["imagegen-high", "imagegen"]
    assert details["state"] in ("started", "idle", "busy")
    heartbeat = datetime.fromisoformat(details["last_heartbeat"])
    assert datetime.now(timezone.utc) - heartbeat.replace(tzinfo=heartbeat.tzinfo or timezone.utc) < timedelta(minutes=2)

    worker.stop()  # a clean shutdown deregisters the worker at once
    assert client.get("/healthz/workers").status_code == 503
