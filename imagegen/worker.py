"""The imagegen worker: an rq worker that keeps torch and models loaded.

rq's default worker forks a child per job. A child would pay torch's import and model loading
again and cannot use a CUDA context made before the fork, so this worker runs jobs in its own
process (rq's SimpleWorker) with the engine imported once. It also runs reconcile every
RECONCILE_INTERVAL seconds, so pending work left behind by a Redis outage or a dead worker is
picked up without cron.

    python manage.py imagegen_worker            # all imagegen queues but training
    python manage.py rqworker --worker-class imagegen.worker.ImagegenWorker imagegen-high imagegen imagegen-bulk
"""
from __future__ import annotations

import logging
import threading
import time

from rq.exceptions import StopRequested
from rq.worker import SimpleWorker

from .conf import conf

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "imagegen:worker-alive:{}"
_current_worker: str = ""


def current_worker_name() -> str:
    """The imagegen worker running in this process ("" outside one, e.g. in tests)."""
    return _current_worker


def worker_alive(connection, name: str) -> bool:
    """Whether the named worker's heartbeat is fresh; it stops within WORKER_HEARTBEAT_TTL of a SIGKILL."""
    return bool(connection.exists(HEARTBEAT_KEY.format(name)))


class Heartbeat(threading.Thread):
    """Refreshes a short-lived Redis key while the process lives, also during long jobs (rq's
    own worker TTL is minutes long, too slow to notice a killed worker)."""

    def __init__(self, connection, name: str, ttl: int) -> None:
        super().__init__(name="imagegen-heartbeat", daemon=True)
        self.connection, self.key, self.ttl = connection, HEARTBEAT_KEY.format(name), ttl
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.connection.set(self.key, str(time.time()), ex=self.ttl)
            except Exception as exc:  # Redis blips: keep trying, the TTL decides
                logger.warning("imagegen worker: heartbeat failed (%s)", exc)
            self.stopped.wait(max(self.ttl / 3, 0.5))

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.connection.delete(self.key)
        except Exception:
            pass


class ImagegenWorker(SimpleWorker):
    def __init__(self, *args, **kwargs) -> None:
        global _current_worker
        super().__init__(*args, **kwargs)
        self._last_reconcile = 0.0
        _current_worker = self.name
        self._heartbeat = Heartbeat(self.connection, self.name, conf.WORKER_HEARTBEAT_TTL)
        t0 = time.perf_counter()
        from . import engine  # noqa: F401  the whole point: import torch once, here

        if conf.TORCH_THREADS:
            import torch

            torch.set_num_threads(int(conf.TORCH_THREADS))

        device = engine.get_device()
        # Read once here so a mistyped IMAGEGEN_PRECISION, IMAGEGEN_COMPILE,
        # IMAGEGEN_CPU_BACKEND or IMAGEGEN_SEGMENT_BACKEND stops the worker at start, not each job.
        from .engine.model_cache import uses_bf16
        from .engine.networks import compiled_networks, network_backend
        from .engine.segment import backend_for

        compiled = ", ".join(sorted(compiled_networks())) or "none"
        logger.info(
            "imagegen worker: engine loaded in %.2f s on %s (%s, compiled networks: %s, style networks: %s, product masks: %s)",
            time.perf_counter() - t0, device, "bf16 autocast" if uses_bf16(device) else "fp32", compiled,
            network_backend("multi", device), backend_for(None, device),
        )  # fmt: skip

    def work(self, *args, **kwargs):
        self._heartbeat.start()
        # A new engine version (a deploy restarts workers) changes every preview's key: the
        # refresh job re-renders what is out of date and skips the rest.
        from .previews import enqueue_refresh

        enqueue_refresh()
        try:
            return super().work(*args, **kwargs)
        finally:
            self._heartbeat.stop()

    @property
    def dequeue_timeout(self) -> int:
        # Wake up often enough to reconcile on time even when the queues are idle.
        return max(1, min(super().dequeue_timeout, int(conf.RECONCILE_INTERVAL)))

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return super().should_run_maintenance_tasks or self._reconcile_due()

    def _reconcile_due(self) -> bool:
        return time.monotonic() - self._last_reconcile >= conf.RECONCILE_INTERVAL

    def run_maintenance_tasks(self) -> None:
        if super().should_run_maintenance_tasks:
            super().run_maintenance_tasks()
        if self._reconcile_due():
            self._last_reconcile = time.monotonic()
            self._reconcile()

    def _reconcile(self) -> None:
        from django.db import close_old_connections

        from .reconcile import reconcile

        close_old_connections()
        try:
            report = reconcile()
        except StopRequested:
            raise  # SIGTERM arrived during reconcile: rq's warm shutdown must go on
        except Exception:  # the worker must keep serving even if the database blips
            logger.exception("imagegen worker: reconcile failed")
            return
        if report.requeued_jobs or report.revived_rows:
            logger.info("imagegen worker: reconcile requeued %d jobs, revived %d rows", report.requeued_jobs, report.revived_rows)

    def perform_job(self, job, queue, *args, **kwargs):
        # Long-lived process: drop broken or expired DB connections between jobs, like a request would.
        from django.db import close_old_connections

        close_old_connections()
        try:
            return super().perform_job(job, queue, *args, **kwargs)
        finally:
            close_old_connections()
