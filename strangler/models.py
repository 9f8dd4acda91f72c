"""The strangler's tables: the routes (data, edited by command or admin, every change
audited), what each side served, the comparisons that disagreed, and breaker states."""

import secrets

from django.db import models


def _seed() -> str:
    return secrets.token_hex(16)


class Route(models.Model):
    """Where requests matching ``methods`` + ``path`` go.

    ``path`` is a pattern such as ``/api/v1/members/{id}/notifications`` (``{name}`` is one
    path segment, never ``.`` or ``..``); ``url_name``, when set, matches Django's URL name
    instead.
    """

    MONOLITH, SERVICE, CANARY, SHADOW = "monolith", "service", "canary", "shadow"
    MODES = [(m, m) for m in (MONOLITH, SERVICE, CANARY, SHADOW)]
    SIDES = [(MONOLITH, MONOLITH), (SERVICE, SERVICE)]

    name = models.SlugField(max_length=64, unique=True)
    service = models.CharField(max_length=64, help_text="a name in BLIPAY_SERVICES")
    methods = models.CharField(max_length=64, default="GET,HEAD", help_text="comma-separated")
    path = models.CharField(max_length=255, blank=True)
    url_name = models.CharField(max_length=128, blank=True)
    mode = models.CharField(max_length=8, choices=MODES, default=MONOLITH)
    percent = models.PositiveSmallIntegerField(default=0, help_text="canary: the share of callers sent to the service")
    serve = models.CharField(max_length=8, choices=SIDES, default=MONOLITH, help_text="shadow: the side that answers")
    seed = models.CharField(max_length=32, default=_seed, help_text="canary buckets: HMAC(seed, route, caller)")
    shadow_sample = models.PositiveSmallIntegerField(default=100, help_text="percent of requests copied")
    shadow_writes = models.BooleanField(default=False, help_text="copy requests that change state too")
    shadow_body_cap = models.PositiveIntegerField(default=256 * 1024, help_text="bytes; larger bodies are skipped")
    ignore = models.JSONField(
        default=list, blank=True, help_text="field paths never compared, e.g. results.*.created_at"
    )
    connect_timeout = models.FloatField(default=0.5)
    read_timeout = models.FloatField(default=5.0)
    breaker_failures = models.PositiveSmallIntegerField(default=5, help_text="consecutive failures that open it")
    breaker_cooldown = models.FloatField(default=5.0, help_text="seconds open before one trial request")
    # Automatic canary analysis (strangler set <route> canary --auto).
    auto = models.BooleanField(default=False)
    auto_steps = models.JSONField(default=list, blank=True)
    step_started_at = models.DateTimeField(null=True, blank=True)
    min_sample = models.PositiveIntegerField(default=50, help_text="service requests a step needs before a verdict")
    max_error_rate = models.FloatField(default=0.01)
    max_p99_ratio = models.FloatField(default=1.5, help_text="service p99 over monolith p99 (plus 20 ms)")
    max_mismatch_rate = models.FloatField(default=0.01)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RouteChange(models.Model):
    """One change of a route: who, when, through what, from what to what, and why."""

    route = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    via = models.CharField(max_length=16, help_text="command, admin or auto-canary")
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.route} by {self.actor} at {self.at:%Y-%m-%d %H:%M:%S}"


class TableVersion(models.Model):
    """One row, given a new random value with every route change: processes reload the
    table when it differs from the one they loaded (a counter could come back to a value
    a process has seen, after the table is emptied)."""

    version = models.CharField(max_length=32, default="")


class Traffic(models.Model):
    """What one side served for a route since ``since`` (the start of the route's current
    step), flushed from each process's counters."""

    route = models.CharField(max_length=64)
    side = models.CharField(max_length=8)
    since = models.DateTimeField()
    requests = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0, help_text="5xx answers")
    fallbacks = models.PositiveBigIntegerField(default=0, help_text="sent to the monolith after the service failed")
    proxy_errors = models.PositiveBigIntegerField(default=0, help_text="failures the proxy answered itself")
    latency_buckets = models.JSONField(default=dict, help_text="upper bound in ms → count")
    compared = models.PositiveBigIntegerField(default=0)
    matched = models.PositiveBigIntegerField(default=0)
    mismatched = models.PositiveBigIntegerField(default=0)
    lagged = models.PositiveBigIntegerField(default=0)
    shadow_skipped = models.PositiveBigIntegerField(
        default=0, help_text="over the body cap, not sampled, or queue full"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["route", "side", "since"], name="traffic_once")]


class Comparison(models.Model):
    """A shadow comparison that did not match: ``mismatch`` (the sides disagree) or
    ``lagged`` (they differ while one has not read as far in the event stream)."""

    MISMATCH, LAGGED = "mismatch", "lagged"

    route = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True)
    verdict = models.CharField(max_length=8, choices=[(MISMATCH, MISMATCH), (LAGGED, LAGGED)])
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=1024)
    fields = models.JSONField(default=list, help_text="the field paths that differed")
    served_by = models.CharField(max_length=8)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # A route's newest first (``strangler report``, the admin): the index gives that order.
        indexes = [models.Index(fields=["route", "-at", "-id"], name="comparison_route_newest")]


class Noise(models.Model):
    """A field that differs when the serving side is asked twice (A/A calibration):
    never counted as a mismatch."""

    route = models.CharField(max_length=64)
    field = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["route", "field"], name="noise_once")]


class BreakerState(models.Model):
    """The newest state of a (route, upstream) circuit breaker, written on each transition."""

    route = models.CharField(max_length=64)
    upstream = models.CharField(max_length=64)
    state = models.CharField(max_length=9)
    changed_at = models.DateTimeField(auto_now=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["route", "upstream"], name="breaker_once")]
