"""Fixtures for the S3 tests: a moto_server subprocess (session) and a fresh bucket per test."""
from .fixtures import moto_server, s3  # noqa: F401  fixtures, re-exported for this folder
