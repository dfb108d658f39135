"""Rate limit on requests that create work (each may cost minutes of GPU time)."""
from __future__ import annotations

from rest_framework.throttling import UserRateThrottle

from ..conf import conf


class VariantRequestThrottle(UserRateThrottle):
    """Per user, ``IMAGEGEN["API_REQUEST_RATE"]`` (e.g. ``"60/hour"``; None: no limit)."""

    scope = "imagegen_requests"

    def get_rate(self) -> str | None:
        return conf.API_REQUEST_RATE
