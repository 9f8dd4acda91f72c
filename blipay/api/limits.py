"""Rate limits: registration per client address, failed authentication per presented
credential and client address, writes per caller.

The client address is ``blipay.api.addresses.client_address``: a forwarded address counts
only from a configured proxy hop (DRF's ``get_ident`` would believe any client's
``X-Forwarded-For``, so a caller could dodge a limit by rotating it). The rates are
settings (``BLIPAY_RATE_LIMITS``); ``BLIPAY_RATE_LIMITS=off`` in the environment switches
every limit off, for load tests and benchmarks.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from blipay.api.addresses import client_address

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
        return self.cache_format % {"scope": self.scope, "ident": client_address(request.META)}


class WriteThrottle(_Throttle):
    """Writes (POST, PATCH, …) per authenticated caller."""

    scope = "writes"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": str(request.user)}


class FailedAuthentications:
    """Counts failures of one presented credential from one client address, in fixed windows.

    Per credential, so bad tokens never lock out a valid one sent from the same address (a
    valid one never fails, so it is never counted); per address, so one caller hammering a
    credential blocks only itself. Guessing distinct credentials instead is hopeless: each
    is 256 random bits. Only the credential's hash is kept, never the credential.
    """

    def __init__(self, *, credential: str, address: str) -> None:
        self.ident = f"{hashlib.sha256(credential.encode()).hexdigest()[:32]}:{address}"

    def _key(self) -> tuple[str, int]:
        _, window = _parse(_rate("failed_auth"))
        return f"blipay:failed-auth:{self.ident}:{int(time.time() // window)}", window

    def blocked_for(self) -> float | None:
        """Seconds until this credential may be tried again from this address, or None."""
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
