"""Counting what each side served, per route and canary step: kept in memory by each
process and written to the ``Traffic`` table every ``FLUSH_SECONDS`` by one thread, so a
routed request never waits on a counter's write. The report and the canary analysis read
the table."""

import bisect
import logging
import threading
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction

from blipay.observability.metrics import STRANGLER_COUNTS, STRANGLER_LATENCY
from strangler.models import Traffic

logger = logging.getLogger("blipay.strangler")

# Latency histogram bounds in milliseconds (the last bucket is "slower than 10 s").
BOUNDS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10000)
COUNTERS = (
    "requests",
    "errors",
    "fallbacks",
    "proxy_errors",
    "compared",
    "matched",
    "mismatched",
    "lagged",
    "shadow_skipped",
)

# A counter's name in Prometheus: the comparison's are blipay_strangler_shadow_*.
_UNPREFIXED = {"requests", "errors", "fallbacks", "proxy_errors"}
_PROMETHEUS_NAME = {
    name: name if name in _UNPREFIXED else f"shadow_{name.removeprefix('shadow_')}" for name in COUNTERS
}

_pending: dict[tuple[str, str, datetime], dict] = {}
_lock = threading.Lock()
_flusher: threading.Thread | None = None


def _entry(route: str, side: str, since: datetime) -> dict:
    key = (route, side, since)
    if key not in _pending:
        _pending[key] = {"counts": defaultdict(int), "latency": defaultdict(int)}
    return _pending[key]


def count(route: str, side: str, since: datetime, *, latency_ms: float | None = None, **counters: int) -> None:
    # Prometheus sees them at once (blipay_strangler_*); the table gets them at the next flush.
    for name, value in counters.items():
        if value:
            STRANGLER_COUNTS[_PROMETHEUS_NAME[name]].labels(route, side).inc(value)
    if latency_ms is not None:
        STRANGLER_LATENCY.labels(route, side).observe(latency_ms / 1000)
    with _lock:
        entry = _entry(route, side, since)
        for name, value in counters.items():
            entry["counts"][name] += value
        if latency_ms is not None:
            index = bisect.bisect_left(BOUNDS, latency_ms)
            entry["latency"][str(BOUNDS[index]) if index < len(BOUNDS) else "inf"] += 1
    _ensure_flusher()


def flush() -> None:
    """Write what this process counted since the last flush."""
    with _lock:
        taken = dict(_pending)
        _pending.clear()
    unwritten = list(taken.items())
    try:
        while unwritten:
            (route, side, since), entry = unwritten[0]
            with transaction.atomic():
                row, _ = Traffic.objects.select_for_update().get_or_create(route=route, side=side, since=since)
                for name, value in entry["counts"].items():
                    setattr(row, name, getattr(row, name) + value)
                buckets = dict(row.latency_buckets)
                for bound, value in entry["latency"].items():
                    buckets[bound] = buckets.get(bound, 0) + value
                row.latency_buckets = buckets
                row.save()
            unwritten.pop(0)
    finally:
        with _lock:  # what could not be written waits for the next flush
            for (route, side, since), entry in unwritten:
                kept = _entry(route, side, since)
                for name, value in entry["counts"].items():
                    kept["counts"][name] += value
                for bound, value in entry["latency"].items():
                    kept["latency"][bound] += value


def p99(buckets: dict[str, int]) -> float | None:
    """The 99th percentile's bucket bound, in ms (None: no sample)."""
    total = sum(buckets.values())
    if not total:
        return None
    seen = 0
    for bound in [*(str(b) for b in BOUNDS), "inf"]:
        seen += buckets.get(bound, 0)
        if seen >= 0.99 * total:
            return float(bound)
    return float("inf")


def _ensure_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    with _lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flush_forever, name="strangler-traffic", daemon=True)
            _flusher.start()


def _flush_forever() -> None:
    stop = threading.Event()
    while not stop.wait(settings.BLIPAY_STRANGLER["FLUSH_SECONDS"]):
        try:
            flush()
        except DatabaseError:
            logger.warning("traffic counters not written; kept for the next flush", exc_info=True)
        finally:
            close_old_connections()
