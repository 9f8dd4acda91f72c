"""Read-only views of the backbone for operators: the outbox's health and an event chain."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received
from kombu.exceptions import OperationalError

from blipay.events.broker import connect, dead_letter_queue, ensure_connected, module_queue
from blipay.events.errors import BrokerUnavailable
from blipay.events.models import AppliedEvent
from blipay.events.registry import routing_key
from blipay.events.subscriptions import consuming_modules, routing_keys


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    oldest_pending_age: timedelta | None
    failed: int
    sent: int
    inbox_failed: int
    queue_depths: dict[str, int | None]


def outbox_status(*, with_queues: bool = True) -> OutboxStatus:
    counts = dict(Published.objects.values_list("status").annotate(n=Count("id")).order_by())
    oldest = Published.objects.filter(status=StatusChoice.SCHEDULE).aggregate(oldest=Min("added"))["oldest"]
    return OutboxStatus(
        pending=counts.get(StatusChoice.SCHEDULE, 0),
        oldest_pending_age=timezone.now() - oldest if oldest else None,
        failed=counts.get(StatusChoice.FAILED, 0),
        sent=counts.get(StatusChoice.SUCCEEDED, 0),
        inbox_failed=Received.objects.filter(status=StatusChoice.FAILED).count(),
        queue_depths=queue_depths() if with_queues else {},
    )


def queue_depths() -> dict[str, int | None]:
    """Messages ready in each module's queue and dead-letter queue (None: not declared yet)."""
    connection = connect()
    try:
        ensure_connected(connection)
    except OperationalError as exc:
        raise BrokerUnavailable(f"could not read queue depths: {exc}") from exc
    depths: dict[str, int | None] = {}
    with connection:
        for module in consuming_modules():
            for queue in (module_queue(module, routing_keys(module)), dead_letter_queue(module)):
                channel = connection.channel()
                try:
                    depths[queue.name] = queue(channel).queue_declare(passive=True).message_count
                except connection.channel_errors:
                    depths[queue.name] = None  # a passive declare of a missing queue closes the channel
                else:
                    channel.close()
    return depths


@dataclass
class TracedEvent:
    id: str
    type: str
    subject: str
    time: datetime
    status: str
    handled_by: list[tuple[str, str]] = field(default_factory=list)
    children: list["TracedEvent"] = field(default_factory=list)


def trace(correlation_id: str) -> list[TracedEvent]:
    """The events one request set off, as trees by causation, with who handled each."""
    rows = Published.objects.filter(body__correlation_id=correlation_id).order_by("added")
    events: dict[str, TracedEvent] = {}
    parents: dict[str, str | None] = {}
    for row in rows:
        body = row.body
        events[body["id"]] = TracedEvent(
            id=body["id"],
            type=routing_key(body["type"], body["version"]),
            subject=body["subject"],
            time=row.added,
            status=StatusChoice(row.status).label,
        )
        parents[body["id"]] = body.get("causation_id")
    applied = AppliedEvent.objects.filter(correlation_id=correlation_id).values_list("key", "consumer")
    handled = [(key[len(consumer) + 1 :], consumer, StatusChoice.SUCCEEDED) for key, consumer in applied]
    failed = Received.objects.filter(headers__correlation_id=correlation_id).values_list("headers", flat=True)
    handled += [(headers.get("event_id"), headers["consumer"], StatusChoice.FAILED) for headers in failed]
    for event_id, consumer, status in handled:
        event = events.get(event_id)
        if event is not None:
            event.handled_by.append((consumer, StatusChoice(status).label))
    roots = []
    for event_id, event in events.items():
        parent = events.get(parents[event_id] or "")
        (parent.children if parent else roots).append(event)
    return roots
