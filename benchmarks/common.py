"""Shared pieces of the benchmark scripts: an isolated Django environment, a worker, tables."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"


def isolated_env(redis_db: int = 14) -> dict[str, str]:
    """Environment for a throwaway database, media folder and Redis database."""
    tmp = Path(tempfile.mkdtemp(prefix="imagegen-bench-"))
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        MEDIA_ROOT=str(tmp / "media"),
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        IMAGEGEN_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM (a warm shutdown for workers and gunicorn), SIGKILL if it takes too long."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def median(values: list[float]) -> float:
    return statistics.median(values)


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warm_up: bool = True) -> dict[str, float]:
    """Median seconds per call of each function, measured side by side: one warm-up call each
    (caches, first-call allocation), then ``repeats`` rounds that call every one once, each
    round starting one later, so machine load and what ran just before (a full cache,
    compiled kernels) fall on all of them alike."""
    if warm_up:
        for fn in fns.values():
            fn()
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(repeats):
        start_at = round_no % len(names)
        for name in names[start_at:] + names[:start_at]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}


def machine() -> dict[str, str]:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "cpus": str(os.cpu_count()), "platform": platform.platform()}


def write_results(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def write_section(name: str, markdown: str, doc: Path = DOC) -> None:
    """Replace this benchmark's section of docs/benchmarks.md, or of ``doc`` (other sections are kept)."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\nEach figure is a median of repeats, measured side by side in one run on the machine named in its JSON file.\n"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
