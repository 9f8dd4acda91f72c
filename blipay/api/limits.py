"""Rate limits: registration and failed authentication per client address, writes per caller.

The rates are settings (``BLIPAY_RATE_LIMITS``); ``BLIPAY_RATE_LIMITS=off`` in the
environment switches every limit off, for load tests and benchmarks.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # DRF's settings import this module while rest_framework.views loads
    from rest_framework.views import APIView


def limits_on() -> bool:
    return settings.BLIPAY_RATE_LIMITS is not None


def _rate(scope: str) -> str:
    return settings.BLIPAY_RATE_LIMITS[scope]


def _parse(rate: str) -> tuple[int, int]:
    """ "20/minute" → (20, 60)."""
    count, _, period = rate.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


class _Throttle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read at call time (DRF reads its rates once, at import), so tests can change them.
        return _rate(self.scope) if limits_on() else None

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not limits_on():
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class RegistrationThrottle(_Throttle):
    """Sign-ups per client address."""

    scope = "registration"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WriteThrottle(_Throttle):
    """Writes (POST, PATCH, …) per authenticated caller."""

    scope = "writes"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": str(request.user)}


class FailedAuthentications:
    """Counts bad credentials per client address in fixed windows."""

    def __init__(self, ident: str) -> None:
        self.ident = ident

    def _key(self) -> tuple[str, int]:
        _, window = _parse(_rate("failed_auth"))
        return f"blipay:failed-auth:{self.ident}:{int(time.time() // window)}", window

    def blocked_for(self) -> float | None:
        """Seconds until this address may try again, or None when it may try now."""
        if not limits_on():
            return None
        limit, window = _parse(_rate("failed_auth"))
        key, _ = self._key()
        if cache.get(key, 0) < limit:
            return None
        return window - time.time() % window

    def record(self) -> None:
        if not limits_on():
            return
        key, window = self._key()
        cache.add(key, 0, window)
        cache.incr(key)
