"""Health checks for load balancers and monitoring.

    /healthz          the web process can reach its database and Redis: 200, else 503
    /healthz/workers  live imagegen workers (heartbeat within rq's worker TTL): 200 when at
                      least one serves an imagegen queue, else 503. Staff users also see
                      each worker's host, pid, queues, state and last heartbeat.

Both answer JSON, never touch storage or torch, and say which part failed without leaking
connection strings (details go to the log). Include them in a host's urls with
``path("", include("imagegen.health_urls"))``.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .conf import conf

logger = logging.getLogger(__name__)


def _timed(check) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        extra = check() or {}
    except Exception as exc:  # any failure means "not healthy"; the reason goes to the log
        logger.warning("imagegen health: %s failed: %s", check.__name__, exc)
        return {"ok": False, "error": type(exc).__name__, "ms": round((time.perf_counter() - t0) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - t0) * 1000, 1), **extra}


def check_database() -> dict[str, Any]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connections["default"].vendor}


def check_redis() -> dict[str, Any]:
    from .queue import get_queue

    queues = {name: get_queue(name) for name in conf.QUEUES.values()}
    next(iter(queues.values())).connection.ping()
    return {"queued": {name: queue.count for name, queue in queues.items()}}


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(check_database), "redis": _timed(check_redis)}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


def live_workers() -> list[Any]:
    """rq workers registered on Redis (their key expires without heartbeats) that listen on
    at least one imagegen queue."""
    from rq import Worker

    from .queue import get_queue

    names = set(conf.QUEUES.values())
    connection = get_queue("default").connection
    return [w for w in Worker.all(connection=connection) if names & set(w.queue_names())]


def describe_worker(worker: Any) -> dict[str, Any]:
    return {
        "name": worker.name,
        "hostname": worker.hostname,
        "pid": worker.pid,
        "queues": worker.queue_names(),
        "state": worker.get_state(),
        "current_job": worker.get_current_job_id(),
        "last_heartbeat": worker.last_heartbeat.isoformat() if worker.last_heartbeat else None,
        "started": worker.birth_date.isoformat() if worker.birth_date else None,
        "successful_jobs": worker.successful_job_count,
        "failed_jobs": worker.failed_job_count,
    }


@never_cache
@require_GET
def workers(request: HttpRequest) -> JsonResponse:
    try:
        found = live_workers()
    except Exception as exc:
        logger.warning("imagegen health: cannot list workers: %s", exc)
        return JsonResponse({"status": "unavailable", "error": type(exc).__name__}, status=503)
    queues = {name: sum(name in w.queue_names() for w in found) for name in conf.QUEUES.values()}
    body: dict[str, Any] = {
        "status": "ok" if found else "unavailable",
        "workers": len(found),
        # Queues nobody serves: expected for imagegen-train without GPU training hosts.
        "queues": queues,
        "unserved": [name for name, count in queues.items() if not count],
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_staff:
        body["details"] = sorted((describe_worker(w) for w in found), key=lambda d: d["name"])
    return JsonResponse(body, status=200 if found else 503)
