"""The backbone's audit checks: the outbox, the inbox and the dead-letter queues."""

from django.conf import settings
from django.db.models import Exists, OuterRef, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Concat
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

from blipay.audit import AuditOptions, AuditSkipped, Finding, register_check
from blipay.events.errors import BrokerUnavailable
from blipay.events.inbox import inbox_id
from blipay.events.models import AppliedEvent
from blipay.events.monitoring import queue_depths
from blipay.events.subscriptions import consuming_modules, subscriptions_of


def outbox_pending(options: AuditOptions) -> list[Finding]:
    rows = Published.objects.filter(status=StatusChoice.SCHEDULE, added__lt=options.pending_before).order_by("added")
    return [
        Finding("outbox.pending", str(id_), f"{destination} waiting since {added.isoformat()}")
        for id_, destination, added in rows.values_list("id", "destination", "added")[: options.limit]
    ]


def outbox_failed(options: AuditOptions) -> list[Finding]:
    rows = Published.objects.filter(status=StatusChoice.FAILED).order_by("added")
    return [
        Finding("outbox.failed", str(id_), f"{destination} failed after {retry} attempts")
        for id_, destination, retry in rows.values_list("id", "destination", "retry")[: options.limit]
    ]


def inbox_failed(options: AuditOptions) -> list[Finding]:
    rows = Received.objects.filter(status=StatusChoice.FAILED).order_by("added")
    return [
        Finding("inbox.failed", msg_id, f"{headers.get('destination', '?')}: {headers.get('error', '')[:200]}")
        for msg_id, headers in rows.values_list("msg_id", "headers")[: options.limit]
    ]


def inbox_missing(options: AuditOptions) -> list[Finding]:
    """Every event in the outbox, within retention and old enough to have arrived, has an
    inbox row for each consuming module of this deployment that handles its type. A module
    whose side effects were handed over still claims its inbox rows here (it keeps its
    copies); a module extracted into a service isn't a consuming module of the monolith."""
    findings: list[Finding] = []
    for module in consuming_modules():
        keys = sorted({s.event_type.routing_key for s in subscriptions_of(module)})
        applied = AppliedEvent.objects.filter(key=OuterRef("inbox_key"))
        failed = Received.objects.filter(msg_id=OuterRef("inbox_key"))  # named by inbox.failed
        missing = (
            Published.objects.filter(
                destination__in=keys, added__gte=options.window_start, added__lt=options.pending_before
            )
            .annotate(inbox_key=Concat(Value(inbox_id(module, "")), KeyTextTransform("id", "body")))
            .exclude(Exists(applied))
            .exclude(Exists(failed))
            .order_by("added")
        )
        findings += [
            Finding("inbox.missing", str(id_), f"{destination} not applied by {module}")
            for id_, destination in missing.values_list("id", "destination")[: options.limit - len(findings)]
        ]
        if len(findings) >= options.limit:
            break
    return findings


def dead_letters(options: AuditOptions) -> list[Finding]:
    if settings.BROKER_URL.startswith("memory://"):
        raise AuditSkipped("the embedded broker keeps no dead-letter queues")
    try:
        depths = queue_depths()
    except BrokerUnavailable as exc:
        raise AuditSkipped(f"broker unreachable: {exc}") from None
    return [
        Finding("broker.dead_letters", queue, f"{depth} messages dead-lettered")
        for queue, depth in sorted(depths.items())
        if queue.endswith(".dead") and depth
    ][: options.limit]


def register() -> None:
    register_check("outbox.pending", outbox_pending)
    register_check("outbox.failed", outbox_failed)
    register_check("inbox.failed", inbox_failed)
    register_check("inbox.missing", inbox_missing)
    register_check("broker.dead_letters", dead_letters)
