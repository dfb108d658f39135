"""The load tools' own arithmetic and their refusal to aim anywhere but loopback."""
from __future__ import annotations

import pytest

from benchmarks.loadkit import Readers, Session, loopback_only, percentiles


def test_percentiles_are_nearest_rank():
    figures = percentiles([float(v) for v in range(100, 0, -1)])  # order does not matter
    assert (figures["n"], figures["p50"], figures["p95"], figures["p99"], figures["max"]) == (100, 50, 95, 99, 100)
    assert percentiles([7.0])["p99"] == 7.0
    assert percentiles([])["n"] == 0


@pytest.mark.parametrize("url", ["http://example.com/", "http://10.0.0.5:8000", "https://127.0.0.1:8443", "http://0.0.0.0:80"])
def test_load_is_only_aimed_at_loopback(url):
    with pytest.raises(ValueError, match="loopback"):
        loopback_only(url)
    with pytest.raises(ValueError):
        Session(url)
    with pytest.raises(ValueError):
        Readers(url, count=1)


def test_loopback_addresses_are_accepted():
    assert loopback_only("http://127.0.0.1:8123") == ("127.0.0.1", 8123)
    assert loopback_only("http://localhost:9000") == ("localhost", 9000)
