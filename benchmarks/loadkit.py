"""Loopback load tools shared by bench_api, load_test and tests/integration/test_load_smoke.py:
a gunicorn web process, a stdlib HTTP session (cookies, CSRF, multipart uploads through the
admin), API readers, bounded load generators (wrk when installed, else threads over
http.client) and percentiles.

Everything is bounded: a fixed number of connections or threads, a fixed duration or count,
and only loopback addresses (anything else is refused).
"""
from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from .common import stop as stop_process

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Server-side time per request (%(D)s: microseconds), without the query string.
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_redis_db(url: str = "redis://127.0.0.1:6379/0", prefer: int = 13) -> int:
    """A Redis database number nobody is using (no keys, no client selected on it), so a run
    is not disturbed by, and does not disturb, tests or benchmarks running beside it.
    0 (the demo's) and 15 (the tests' default) are never chosen."""
    import redis

    conn = redis.Redis.from_url(url, socket_connect_timeout=2)
    with_keys = {int(name[2:]) for name in conn.info("keyspace") if name.startswith("db")}
    selected = {int(client["db"]) for client in conn.client_list()}
    candidates = [prefer, *(db for db in range(14, 0, -1) if db != prefer)]
    for db in candidates:
        if db not in with_keys and db not in selected:
            return db
    raise RuntimeError("no free Redis database among 1-14: every one has keys or a client on it")


@contextlib.contextmanager
def private_redis(log_dir: Path, fallback_db: int = 13) -> Iterator[str]:
    """A Redis server of this run's own (``redis-server`` on a free loopback port, no
    persistence), so nothing else's flushdb or worker touches its jobs; where redis-server is
    not installed, an unused database of the Redis on 127.0.0.1:6379."""
    server = shutil.which("redis-server")
    if not server:
        yield f"redis://127.0.0.1:6379/{free_redis_db(prefer=fallback_db)}"
        return
    import redis

    port = free_port()
    log = open(log_dir / "redis.log", "wb")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(log_dir)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url, socket_connect_timeout=1).ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}; see {log_dir / 'redis.log'}") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def loopback_only(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise ValueError(f"load tools only target plain HTTP on loopback, not {base_url!r}")
    return parts.hostname, parts.port or 80


def percentiles(values_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99 (nearest rank on the sorted sample) and the count."""
    if not values_ms:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "mean": float("nan"), "max": float("nan")}
    ordered = sorted(values_ms)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]

    return {"n": len(ordered), "p50": rank(50), "p95": rank(95), "p99": rank(99), "mean": statistics.fmean(ordered), "max": ordered[-1]}


# --- the web process -----------------------------------------------------------------------

class WebServer:
    """gunicorn serving the shop on 127.0.0.1, configured by shop/gunicorn.conf.py (its
    environment overrides) or, where that file is missing, by explicit flags. The access log
    records each request's server-side time."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, workers: int = 2, threads: int | None = None, recycle: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = log_dir / "gunicorn-access.log"
        self.error_log = log_dir / "gunicorn.log"
        self.workers, self.threads = workers, threads
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_ACCESS_LOG": str(self.access_log),
            "GUNICORN_LOG_LEVEL": "warning",
        }
        if threads is not None:
            self.env["GUNICORN_THREADS"] = str(threads)
        if not recycle:
            self.env["GUNICORN_MAX_REQUESTS"] = "0"  # no worker restarts in the middle of a measurement
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        conf = ROOT / "shop" / "gunicorn.conf.py"
        base = [sys.executable, "-m", "gunicorn", "--access-logformat", ACCESS_LOG_FORMAT]
        if conf.exists():
            return [*base, "-c", str(conf)]
        flags = ["shop.wsgi", "-w", str(self.workers), "-b", self.env["GUNICORN_BIND"], "--access-logfile", str(self.access_log)]
        if self.threads:
            flags += ["--threads", str(self.threads)]
        return [*base, *flags]

    def start(self, timeout: float = 60) -> WebServer:
        self._log = open(self.error_log, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                if Session(self.url, timeout=2).get("/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        if hasattr(self, "_log"):
            self._log.close()

    def output(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def access_entries(self) -> list[tuple[str, str, int, float]]:
        """(method, path without query, status, server-side ms) of every request so far."""
        entries = []
        if self.access_log.exists():
            for line in self.access_log.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
                    entries.append((parts[0], parts[1], int(parts[2]), int(parts[3]) / 1000))
        return entries


# --- a small HTTP session ------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    ms: float

    def json(self):
        return json.loads(self.body)


class Session:
    """One keep-alive connection with a cookie jar, like one browser tab or API client."""

    def __init__(self, base_url: str, *, timeout: float = 30, token: str | None = None) -> None:
        self.host, self.port = loopback_only(base_url)
        self.origin = f"http://{self.host}:{self.port}"
        self.timeout = timeout
        self.token = token
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        # A connection idle for a while may have been closed by the server (keep-alive timeout):
        # start a fresh one instead of finding out in the middle of a POST.
        if self._conn is None or time.monotonic() - self._last_used > 2:
            self.close()
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
        headers = {"Origin": self.origin, "Referer": self.origin + path, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        for attempt in (1, 2):
            conn = self._connection()
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
                data = raw.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2 or method != "GET":  # only idempotent requests are retried
                    raise
        ms = (time.perf_counter() - t0) * 1000
        self._last_used = time.monotonic()
        for header in raw.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if raw.will_close:
            self.close()
        return Response(raw.status, dict(raw.headers), data, ms)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> Response:
        """A multipart form POST carrying the CSRF token, as a browser submits an admin form."""
        fields = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **fields}
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
        for name, (filename, data, mime) in (files or {}).items():
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
            parts.append(head.encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def login_admin(self, username: str, password: str) -> None:
        self.get("/admin/login/")
        response = self.post_form("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})
        if response.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"admin login as {username!r} failed: HTTP {response.status}")


# --- uploads through the admin's add form --------------------------------------------------

ADD_FORM = "/admin/shop/productimage/add/"
CHANGE_URL = re.compile(r"/admin/shop/productimage/(\d+)/change/")


@dataclass
class Upload:
    product_id: int
    filename: str
    data: bytes
    image_id: int | None = None
    status: int = 0
    form_ms: float = 0.0
    post_ms: float = 0.0
    error: str = ""


def upload_via_admin(session: Session, item: Upload) -> Upload:
    """Open the add form (as an admin would), then submit it with the file ("Save and continue
    editing", whose redirect names the new row)."""
    form = session.get(ADD_FORM)
    item.form_ms = form.ms
    if form.status != 200:
        item.status, item.error = form.status, f"add form answered {form.status}"
        return item
    response = session.post_form(
        ADD_FORM,
        {"product": str(item.product_id), "alt": item.filename, "position": "0", "_continue": "1"},
        files={"image": (item.filename, item.data, "image/png")},
    )
    item.status, item.post_ms = response.status, response.ms
    match = CHANGE_URL.search(response.headers.get("Location", ""))
    if response.status == 302 and match:
        item.image_id = int(match.group(1))
    else:
        errors = re.findall(r'<ul class="errorlist[^"]*">(.*?)</ul>', response.body.decode(errors="replace"), re.S)
        item.error = f"HTTP {response.status}: {' '.join(errors)[:300] or response.body[:300]!r}"
    return item


def run_uploads(base_url: str, username: str, password: str, items: list[Upload], clients: int) -> list[Upload]:
    """``clients`` admins, each logged in with its own session, upload ``items`` between them."""
    pending = list(reversed(items))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def client() -> None:
        session = Session(base_url, timeout=60)
        try:
            session.login_admin(username, password)
            while True:
                with lock:
                    if not pending:
                        return
                    item = pending.pop()
                try:
                    upload_via_admin(session, item)
                except OSError as exc:
                    item.error = f"{type(exc).__name__}: {exc}"
        except BaseException as exc:  # reported by the caller, not lost in a thread
            failures.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=client, name=f"uploader-{i}", daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return items


# --- API readers ---------------------------------------------------------------------------

VARIANTS_API = "/api/imagegen/variants/"


@dataclass
class Sample:
    kind: str  # "list" or "detail"
    status: int
    ms: float


@dataclass
class Readers:
    """``count`` API clients polling variant lists and details every ``interval`` seconds
    (jittered), until stopped. Tokens (if any) are handed out round-robin; None: anonymous."""

    base_url: str
    count: int
    interval: float = 1.0
    tokens: list[str | None] = field(default_factory=lambda: [None])
    page_size: int = 20
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        loopback_only(self.base_url)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> Readers:
        for i in range(self.count):
            thread = threading.Thread(target=self._read, args=(i,), name=f"reader-{i}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self) -> Readers:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        return self

    def _read(self, index: int) -> None:
        rng = random.Random(index)
        session = Session(self.base_url, timeout=30, token=self.tokens[index % len(self.tokens)])
        seen: list[int] = []
        self._stop.wait(rng.uniform(0, self.interval))  # spread the first requests
        while not self._stop.is_set():
            detail = seen and rng.random() < 0.5
            path = f"{VARIANTS_API}{rng.choice(seen)}/" if detail else f"{VARIANTS_API}?page_size={self.page_size}"
            try:
                response = session.get(path)
            except OSError as exc:
                with self._lock:
                    self.errors.append(f"{path}: {type(exc).__name__}: {exc}")
            else:
                with self._lock:
                    self.samples.append(Sample("detail" if detail else "list", response.status, response.ms))
                if not detail and response.status == 200:
                    seen = [row["id"] for row in response.json()["results"]] or seen
            self._stop.wait(self.interval * rng.uniform(0.5, 1.5))
        session.close()

    def latencies(self, kind: str | None = None) -> list[float]:
        return [s.ms for s in self.samples if s.status < 400 and (kind is None or s.kind == kind)]

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for sample in self.samples:
            counts[sample.status] = counts.get(sample.status, 0) + 1
        return counts


# --- bounded load: wrk, or threads over http.client ----------------------------------------

WRK_SCRIPT = """
local paths = {%s}
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "mean_us": %%f, "max_us": %%d, "non_2xx_3xx": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(base_url: str, paths: list[str], *, connections: int, threads: int, duration: float) -> dict[str, float]:
    loopback_only(base_url)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
    try:
        out = subprocess.run(
            [wrk_path(), "-c", str(connections), "-t", str(threads), "-d", f"{duration:g}s", "--timeout", "10s", "-s", script.name, base_url],
            capture_output=True, text=True, timeout=duration + 30, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    raw = json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])
    seconds = raw["duration_us"] / 1e6
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "requests_per_s": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["non_2xx_3xx"] + raw["socket_errors"],
    }


def run_threads(base_url: str, paths: list[str], *, connections: int, duration: float) -> dict[str, float]:
    """wrk's job without wrk: ``connections`` threads, one keep-alive connection each, for
    ``duration`` seconds. Python's client costs more CPU than wrk; compare like with like."""
    loopback_only(base_url)
    stop_at = time.monotonic() + duration
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop(seed: int) -> None:
        rng, session, mine, bad = random.Random(seed), Session(base_url, timeout=10), [], 0
        while time.monotonic() < stop_at:
            try:
                response = session.get(rng.choice(paths))
                if response.status >= 400:
                    bad += 1
                else:
                    mine.append(response.ms)
            except OSError:
                bad += 1
        session.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    t0 = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - t0
    figures = percentiles(latencies)
    return {
        "tool": "python-threads",
        "requests": len(latencies) + errors[0],
        "requests_per_s": (len(latencies) + errors[0]) / elapsed,
        "p50_ms": figures["p50"],
        "p95_ms": figures["p95"],
        "p99_ms": figures["p99"],
        "errors": errors[0],
    }


def run_load(base_url: str, paths: list[str], *, connections: int, threads: int, duration: float, tool: str = "auto") -> dict[str, float]:
    if tool == "wrk" or (tool == "auto" and wrk_path()):
        return run_wrk(base_url, paths, connections=connections, threads=threads, duration=duration)
    return run_threads(base_url, paths, connections=connections, duration=duration)


# --- test images ---------------------------------------------------------------------------

def product_png(seed: int, size: tuple[int, int] = (192, 144)) -> bytes:
    """A small, distinct product photo (a few shapes on a light background) as PNG bytes."""
    import io

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randint(215, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(4):
        x0, y0 = rng.randint(0, w - 2), rng.randint(0, h - 2)
        x1, y1 = rng.randint(x0 + 1, w), rng.randint(y0 + 1, h)
        draw.ellipse([x0, y0, x1, y1], fill=tuple(rng.randint(0, 200) for _ in range(3)))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
