from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.common import stop as stop_process

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ROOT.parent / "shared" / "datasets" / "products"

# Networks exported for onnxruntime (engine/onnx_backend.py) go to a folder of this run, not the
# user's ~/.cache; the workers the tests start inherit it.
if "IMAGEGEN_ONNX_CACHE" not in os.environ:
    import tempfile

    os.environ["IMAGEGEN_ONNX_CACHE"] = tempfile.mkdtemp(prefix="imagegen-onnx-")


@pytest.fixture(scope="session")
def product_photos() -> list[Path]:
    """The real product photos beside the project (development and CI only)."""
    if not PRODUCTS.is_dir():
        pytest.skip(f"real product photos not found at {PRODUCTS} (only present in development and CI)")
    return sorted(PRODUCTS.glob("*.png"))


def png_bytes(size=(160, 120), color=(200, 40, 40, 255), mode="RGBA") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new(mode, size, (255, 255, 255, 0) if mode == "RGBA" else (250, 250, 250))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse([w // 5, h // 5, 4 * w // 5, 4 * h // 5], fill=color if mode == "RGBA" else color[:3])
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    return png_bytes


# --- real services ---------------------------------------------------------------------

@pytest.fixture
def redis_conn():
    """Real Redis (the test database), emptied before each test."""
    import django_rq
    from redis.exceptions import ConnectionError

    conn = django_rq.get_connection("imagegen")
    try:
        conn.flushdb()
    except ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {os.environ['REDIS_URL']}: start it (see README) ({exc})")
    yield conn
    conn.flushdb()


def database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{settings_dict.get('HOST') or ''}{port}/{settings_dict['NAME']}"


class WorkerProcess:
    """A real `manage.py imagegen_worker` subprocess on the test database and Redis."""

    def __init__(self, env: dict[str, str], log_path: Path, queues: list[str] | None = None) -> None:
        self.env = env
        self.log_path = log_path
        self.queues = queues or []
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "imagegen_worker", *self.queues],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, timeout=15)
        self.log.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker_env(django_db_setup, redis_conn) -> dict[str, str]:
    from django.db import connection

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["DATABASE_URL"] = database_url(connection.settings_dict)
    env["PYTHONUNBUFFERED"] = "1"
    # Tests often run two workers beside the test process on two cores: one torch thread each.
    env.setdefault("IMAGEGEN_TORCH_THREADS", "1")
    return env


@pytest.fixture
def start_worker(worker_env, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*queues: str, **extra_env: str) -> WorkerProcess:
        worker = WorkerProcess({**worker_env, **extra_env}, tmp_path / f"worker-{len(started)}.log", list(queues)).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker(start_worker) -> WorkerProcess:
    return start_worker()


def wait_for(predicate: Callable[[], object], timeout: float = 60, interval: float = 0.1, message: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
