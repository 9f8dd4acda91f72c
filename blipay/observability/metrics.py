"""Prometheus metrics: what each process counts, and what a scrape reads at the source.

Counters and histograms live in the process that counts them. Under the real servers a
deployment has several such processes (gunicorn's workers, Celery's, the consumers), so
``manage.py serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` (emptied at each start) and
prometheus-client's multiprocess mode writes each process's values there; a scrape of any
web worker adds them all up. Without it (the embedded default: one process) they stay in
memory. Gauges of the backbone's state are not counted but read at scrape time, from the
one place that knows: the outbox table (pending, oldest pending age, failed) and the broker
(each queue's ready messages, by a passive declare). docs/operations.md lists every metric.
"""

import os
from collections.abc import Iterator

from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

METRICS_PATH = "/metrics"

# No ``*_created`` series: multiprocess mode has none, so the embedded default shows none either.
disable_created_metrics()

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# --- HTTP -----------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "blipay_http_requests", "HTTP requests answered, by route pattern and status.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "blipay_http_request_duration_seconds",
    "Time from the request's arrival to its response, by route pattern.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)

# --- the relay ----------------------------------------------------------------------------
RELAY_EVENTS = Counter("blipay_relay_events", "Outbox events the relay published, by the broker's answer.", ["outcome"])
RELAY_CONFIRM = Histogram(
    "blipay_relay_confirm_seconds",
    "Time to publish one batch and have the broker confirm all of it.",
    buckets=_LATENCY_BUCKETS,
)
RELAY_FAILURES = Counter("blipay_relay_failures", "Relay batches left pending because the broker was unavailable.")

# --- the consumers ------------------------------------------------------------------------
CONSUMED = Counter(
    "blipay_consumer_events",
    "Events a module's consumer settled: applied, duplicate (already in the inbox), stale "
    "(older than the state it holds) or replayed.",
    ["module", "event_type", "outcome"],
)
CONSUMER_LAG = Histogram(
    "blipay_consumer_lag_seconds",
    "Time from an event's emission to its application by a module (end-to-end lag).",
    ["module"],
    buckets=_LAG_BUCKETS,
)
HANDLER_ERRORS = Counter(
    "blipay_consumer_handler_errors", "Handler failures (each failed attempt).", ["module", "event_type"]
)
RETRIES = Counter("blipay_consumer_retries", "Deliveries tried again after a handler failed.", ["module", "event_type"])
DEAD_LETTERED = Counter(
    "blipay_consumer_dead_lettered",
    "Messages sent to a module's dead-letter queue: a handler kept failing, or unreadable.",
    ["module", "reason"],
)

# --- the strangler --------------------------------------------------------------------------
STRANGLER_COUNTS = {
    name: Counter(f"blipay_strangler_{name}", description, ["route", "side"])
    for name, description in {
        "requests": "Routed requests served, by route and side (monolith or service).",
        "errors": "Routed requests answered with a 5xx, by route and side.",
        "fallbacks": "Requests meant for the service that the monolith served instead.",
        "proxy_errors": "Requests the proxy answered itself (502/504) after the service failed.",
        "shadow_compared": "Shadow copies compared with the served answer.",
        "shadow_matched": "Shadow copies whose answer matched.",
        "shadow_mismatched": "Shadow copies whose answer differed.",
        "shadow_lagged": "Shadow copies not compared because a side lagged behind the stream.",
        "shadow_skipped": "Shadow copies not sent (not sampled, a write, over the body cap, queue full).",
    }.items()
}
STRANGLER_LATENCY = Histogram(
    "blipay_strangler_latency_seconds",
    "Time for the serving side to answer a routed request.",
    ["route", "side"],
    buckets=_LATENCY_BUCKETS,
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class BackboneCollector(Collector):
    """Gauges read at scrape time: the outbox table's and the broker's queues' state."""

    def collect(self) -> Iterator[Metric]:
        # Imported here: the backbone's models aren't loaded when this module is.
        from django_outbox_pattern.choices import StatusChoice
        from django_outbox_pattern.models import Published

        from blipay.events.broker import dead_letter_queue, queue_name
        from blipay.events.errors import BrokerUnavailable
        from blipay.events.monitoring import queue_depths
        from blipay.events.subscriptions import consuming_modules

        pending = Published.objects.filter(status=StatusChoice.SCHEDULE)
        oldest = pending.order_by("added").values_list("added", flat=True).first()
        yield GaugeMetricFamily("blipay_outbox_pending", "Outbox events not yet sent to the broker.", pending.count())
        yield GaugeMetricFamily(
            "blipay_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox event not yet sent (0 when none is pending).",
            (timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "blipay_outbox_failed",
            "Outbox events the broker refused too often: failed, waiting for a retry in the admin.",
            Published.objects.filter(status=StatusChoice.FAILED).count(),
        )
        try:
            depths = queue_depths()
        except BrokerUnavailable:
            depths = None
        yield GaugeMetricFamily("blipay_broker_up", "1 if the broker answered this scrape.", int(depths is not None))
        if depths is None:
            return
        lag = GaugeMetricFamily(
            "blipay_queue_messages", "Messages waiting in a module's queue (consumer lag).", labels=["module", "queue"]
        )
        dead = GaugeMetricFamily(
            "blipay_dead_letter_messages", "Messages in a module's dead-letter queue.", labels=["module", "queue"]
        )
        for module in consuming_modules():
            for family, name in ((lag, queue_name(module)), (dead, dead_letter_queue(module).name)):
                if depths.get(name) is not None:  # None: not declared yet
                    family.add_metric([module, name], depths[name])
        yield lag
        yield dead


class _ProcessMetrics(Collector):
    """This process's own metrics (the embedded default's one process)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition() -> bytes:
    """Every metric, in Prometheus' text format: what ``GET /metrics`` answers."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    registry.register(BackboneCollector())
    return generate_latest(registry)
