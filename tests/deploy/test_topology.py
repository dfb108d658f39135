"""The production topology on one machine: a gunicorn web process (shop/gunicorn.conf.py,
shop.settings_production) and two imagegen workers, each on its own queue, sharing one Redis,
one PostgreSQL database and one S3 server (moto_server), exactly as separate hosts would.

An admin uploads a product photo through the web process; the uploads worker renders it
from S3 to S3; an on-demand regeneration goes to the high-priority worker; the storefront,
served by gunicorn, links the variant by a signed S3 URL that works."""
from __future__ import annotations

import html
import json
import re
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from rq.job import Job

from benchmarks.common import stop as stop_process
from imagegen.models import Variant
from imagegen.queue import get_queue
from imagegen.requests import regenerate
from shop.catalogue.models import ProductImage

from ..conftest import ROOT, png_bytes, wait_for
from ..integration.helpers import make_product, wait_settled
from ..s3.fixtures import free_port
from .web import Browser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def production_env(worker_env, s3) -> dict[str, str]:
    if connection.vendor != "postgresql":
        pytest.skip(
            "the production topology runs on PostgreSQL (shop.settings_production refuses SQLite): "
            "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/imagegen, as .ci/run does"
        )
    return {
        **worker_env,  # the test database and Redis db 15
        **s3.env,  # sources and variants on the moto bucket
        "DJANGO_SETTINGS_MODULE": "shop.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


class WebProcess:
    """`gunicorn -c shop/gunicorn.conf.py`, as the web tier runs it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2"}
        self.log_path = log_path

    def start(self) -> WebProcess:
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "shop/gunicorn.conf.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        health = Browser(self.url, https=False)

        def up() -> bool:
            assert self.proc.poll() is None, f"gunicorn exited:\n{self.output()}"
            try:
                return health.get("/healthz").status == 200
            except OSError:
                return False

        wait_for(up, timeout=60, interval=0.2, message="gunicorn to answer /healthz")
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """gunicorn's master and the worker processes it forked (Linux /proc)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [self.proc.pid, *map(int, children)]


@pytest.fixture
def web(production_env, tmp_path):
    process = WebProcess(production_env, tmp_path / "gunicorn.log").start()
    yield process
    process.stop()


def test_web_and_two_workers_on_separate_queues_share_redis_postgres_and_s3(production_env, web, start_worker, s3):
    high = start_worker("imagegen-high", **production_env)
    uploads = start_worker("imagegen", **production_env)
    # Hashed as production hashes (tests.settings uses a fast hasher production doesn't know).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        get_user_model().objects.create_superuser("admin", "admin@example.com", "topology-pass")
    product = make_product("Lamp")

    # Health over plain HTTP (the load balancer's view): database and Redis reachable.
    plain = Browser(web.url, https=False)
    health = plain.get("/healthz")
    assert health.status == 200, health.text
    assert '"vendor": "postgresql"' in health.text
    assert plain.get("/").status == 301  # everything else is redirected to HTTPS

    # Both workers have registered and are listed with their queues.
    admin = Browser(web.url)
    admin.login_admin("admin", "topology-pass")
    wait_for(lambda: admin.get("/healthz/workers").status == 200 and len(workers_by_pid(admin)) == 2, timeout=90,
             message="both workers to register")
    names = {pid: info["name"] for pid, info in workers_by_pid(admin).items()}
    assert workers_by_pid(admin)[high.proc.pid]["queues"] == ["imagegen-high"]
    assert workers_by_pid(admin)[uploads.proc.pid]["queues"] == ["imagegen"]

    # An admin uploads a photo through the web process (the admin's add form).
    data = png_bytes(size=(180, 120), color=(30, 140, 60, 255))
    fields = admin.hidden_fields("/admin/shop/productimage/add/")
    response = admin.post_form(
        "/admin/shop/productimage/add/",
        {**fields, "product": str(product.pk), "alt": "Lamp", "position": "0"},
        files={"image": ("lamp.png", data, "image/png")},
    )
    assert response.status == 302, (response.status, web.output()[-5000:])
    image = ProductImage.objects.get(product=product)
    assert s3.read(image.image.name) == data  # the web process wrote the source to S3

    (variant,) = wait_settled(image)
    assert variant.status == Variant.Status.READY, (variant.error, uploads.output(), high.output())
    assert s3.keys(prefix="imagegen/variants/") == {variant.file.name}
    assert Job.fetch(variant.job_id, connection=get_queue("default").connection).worker_name == names[uploads.proc.pid]

    # On-demand work (admin/API) goes to the high-priority queue and its own worker.
    regenerate(image, "image", queue="high")
    (again,) = wait_settled(image)
    assert again.status == Variant.Status.READY and again.attempts == 1
    assert again.job_id != variant.job_id
    assert Job.fetch(again.job_id, connection=get_queue("high").connection).worker_name == names[high.proc.pid]
    counts = {pid: info["successful_jobs"] for pid, info in workers_by_pid(admin).items()}
    assert counts == {high.proc.pid: 1, uploads.proc.pid: 1}

    # The storefront, served by gunicorn, links the variant on S3 by a signed URL that works.
    page = Browser(web.url).get(product.get_absolute_url())
    assert page.status == 200
    signed = [url for url in _urls(page.text) if variant.file.name in url]
    assert signed and "X-Amz-Signature=" in signed[0]
    assert plain_fetch(signed[0]) == s3.read(variant.file.name)

    # The web tier stayed light: after all of that, no web process has loaded torch.
    def loaded_torch(pid: int) -> bool:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()

    web_pids = web.worker_pids()
    assert len(web_pids) == 3  # the master and WEB_CONCURRENCY=2 workers
    assert [pid for pid in web_pids if loaded_torch(pid)] == []
    assert loaded_torch(uploads.proc.pid)  # while the GPU workers did (the check can see it)


def workers_by_pid(browser: Browser) -> dict[int, dict]:
    body = json.loads(browser.get("/healthz/workers").body)
    return {info["pid"]: info for info in body.get("details", [])}


def _urls(page: str) -> list[str]:
    return [html.unescape(url) for url in re.findall(r'(?:src|data-src)="([^"]+)"', page)]


def plain_fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()
