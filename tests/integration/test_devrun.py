"""`make run` (python -m shop.devrun): the worker and the web server it starts go away with it,
whether it is stopped by Ctrl-C or by a SIGTERM (a process manager, `kill`, a closed terminal)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT, wait_for
from ..s3.fixtures import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_make_run_stops_its_worker_and_web_server(worker_env, tmp_path, stop):
    port = free_port()
    log = tmp_path / "devrun.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shop.devrun"], cwd=ROOT, env={**worker_env, "PORT": str(port)},
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    children: list[int] = []
    try:
        wait_for(lambda: _answers(port), timeout=120, message=f"the web server on port {port}")
        children = [int(pid) for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert len(children) >= 2, log.read_text()  # the worker and the web server (Redis runs already)
        assert all(_alive(pid) for pid in children)

        proc.send_signal(stop)
        assert proc.wait(timeout=30) == 0, log.read_text()
        wait_for(lambda: not any(_alive(pid) for pid in children), timeout=30, message="devrun's children to exit")
        assert not _answers(port)
    finally:  # nothing left behind for the next test, even when this one failed
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
