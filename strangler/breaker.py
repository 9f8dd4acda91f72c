"""A circuit breaker per (route, upstream): after ``breaker_failures`` failures in a row
it opens, and requests fall back to the monolith at once instead of waiting on a sick
service; after ``breaker_cooldown`` seconds one trial request goes through (half-open):
success closes it, failure opens it again. Transitions are written down for the report."""

import logging
import threading
import time
from dataclasses import dataclass

from django.db import DatabaseError

from strangler.models import BreakerState

logger = logging.getLogger("blipay.strangler")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass
class _Breaker:
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    trial_running: bool = False


_breakers: dict[tuple[str, str], _Breaker] = {}
_lock = threading.Lock()


def allow(route: str, upstream: str, *, cooldown: float) -> bool:
    """May a request go to the upstream now? In half-open state only one trial at a time."""
    with _lock:
        breaker = _breakers.setdefault((route, upstream), _Breaker())
        if breaker.state == CLOSED:
            return True
        if breaker.state == OPEN and time.monotonic() - breaker.opened_at >= cooldown:
            _move(route, upstream, breaker, HALF_OPEN, "cooldown over: one trial request")
        if breaker.state == HALF_OPEN and not breaker.trial_running:
            breaker.trial_running = True
            return True
        return False


def succeeded(route: str, upstream: str) -> None:
    with _lock:
        breaker = _breakers.setdefault((route, upstream), _Breaker())
        breaker.failures = 0
        breaker.trial_running = False
        if breaker.state != CLOSED:
            _move(route, upstream, breaker, CLOSED, "a request succeeded")


def failed(route: str, upstream: str, *, threshold: int, reason: str) -> None:
    with _lock:
        breaker = _breakers.setdefault((route, upstream), _Breaker())
        breaker.failures += 1
        breaker.trial_running = False
        if breaker.state == HALF_OPEN or (breaker.state == CLOSED and breaker.failures >= threshold):
            breaker.opened_at = time.monotonic()
            _move(route, upstream, breaker, OPEN, reason)


def state(route: str, upstream: str) -> str:
    with _lock:
        return _breakers.get((route, upstream), _Breaker()).state


def _move(route: str, upstream: str, breaker: _Breaker, to: str, reason: str) -> None:
    breaker.state = to
    try:
        BreakerState.objects.update_or_create(
            route=route, upstream=upstream, defaults={"state": to, "reason": reason[:255]}
        )
    except DatabaseError:
        # The record is for the report; the breaker itself lives in this process.
        logger.warning("breaker %s/%s is %s, but the record failed", route, upstream, to, exc_info=True)


def reset() -> None:
    """Forget every breaker (tests)."""
    with _lock:
        _breakers.clear()
