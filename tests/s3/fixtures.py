"""A real S3 server for the tests: moto's standalone server (``moto_server``, from the
moto[server] package) on 127.0.0.1, reached over HTTP by boto3 exactly as AWS or MinIO would be.

Imported by the conftest of each folder that needs it (tests/s3, tests/deploy).
"""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUEST_LINE = re.compile(r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/1\.[01]" \d{3}')

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "imagegen-test",
    "AWS_SECRET_ACCESS_KEY": "imagegen-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_S3_REGION_NAME": "us-east-1",
    # Never look for credentials or config anywhere else (no ~/.aws, no instance metadata).
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """moto_server as a subprocess; its access log tells how many requests reached it."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path

    def start(self) -> MotoServer:
        self.log = open(self.log_path, "wb")
        # `python -m moto.server` is the `moto_server` console script, run by this interpreter.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited at start:\n{self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto_server did not listen on port {self.port} within 30 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def requests(self) -> list[str]:
        """Every request the server has answered so far, as "METHOD /path"."""
        text = self.log_path.read_text(errors="replace")
        return [f"{m.group(1)} {m.group(2)}" for m in REQUEST_LINE.finditer(text)]

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


@dataclass
class S3Setup:
    server: MotoServer
    bucket: str
    env: dict[str, str]  # what a worker or web subprocess needs to use the same storage
    variant_bucket: str = ""
    client: object = field(default=None, repr=False)

    def keys(self, bucket: str | None = None, prefix: str = "") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket or self.bucket, Prefix=prefix)
        return {entry["Key"] for page in pages for entry in page.get("Contents", ())}

    def read(self, key: str, bucket: str | None = None) -> bytes:
        return self.client.get_object(Bucket=bucket or self.bucket, Key=key)["Body"].read()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto_server.log").start()
    yield server
    server.stop()


def make_bucket(server: MotoServer) -> str:
    name = f"imagegen-{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=name)
    return name


def use_s3(monkeypatch, settings, server: MotoServer, **env: str) -> S3Setup:
    """Point this test process (STORAGES) and the returned env (for subprocesses) at moto."""
    from shop.storages_env import storages_from_env

    bucket = make_bucket(server)
    full = {**CREDENTIALS, "AWS_S3_ENDPOINT_URL": server.url, "AWS_STORAGE_BUCKET_NAME": bucket, **env}
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)  # boto3 in this process reads its credentials from here
    settings.STORAGES = storages_from_env(full)
    return S3Setup(server=server, bucket=bucket, env=full, client=server.client())


@pytest.fixture
def s3(moto_server, monkeypatch, settings) -> S3Setup:
    """Uploads and variants both on a fresh bucket of the moto server."""
    return use_s3(monkeypatch, settings, moto_server, IMAGEGEN_STORAGE="s3")
