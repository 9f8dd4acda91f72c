"""The choreography of one request: every event it set off, who emitted each (the request or
a module's handler), what became of it in the outbox, and how each consuming module took
it (applied, when and how long after it was emitted, retried, dead-lettered, or not yet),
read from the outbox and inbox rows. The admin draws it (``blipay/events/admin.py``).

A module extracted into a service keeps an inbox of its own in the service's database: the
monolith asks the service for its rows (``/internal/trace/<correlation id>``, signed), or
says where they are when it can't.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.utils.dateparse import parse_datetime
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

from blipay.events.context import CORRELATION_ID
from blipay.events.control import MONOLITH, owner_of
from blipay.events.errors import UnknownEventType
from blipay.events.inbox import inbox_id
from blipay.events.models import AppliedEvent
from blipay.events.registry import event_type, name_and_version, routing_key
from blipay.events.subscriptions import consuming_modules, routing_keys
from blipay.identity.internal import signed_get

# How many events one picture draws at most (a runaway chain would be unreadable anyway).
MAX_EVENTS = 200

APPLIED, FAILED, PENDING = "applied", "dead-lettered", "pending"


class InvalidCorrelationId(ValueError):
    pass


@dataclass(frozen=True)
class InboxRow:
    """One module's record of one event, in the monolith's inbox or a service's."""

    module: str
    event_id: str
    status: str  # APPLIED or FAILED
    at: datetime
    attempts: int  # failed attempts recorded, across every dead-lettering
    error: str

    def to_dict(self) -> dict:
        return {
            "module": self.module,
            "event_id": self.event_id,
            "status": self.status,
            "at": self.at.isoformat(),
            "attempts": self.attempts,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, row: dict) -> "InboxRow":
        at = parse_datetime(row["at"])
        if at is None or row["status"] not in (APPLIED, FAILED):
            raise ValueError(f"not an inbox row: {row!r}")
        return cls(str(row["module"]), str(row["event_id"]), row["status"], at, int(row["attempts"]), str(row["error"]))


@dataclass(frozen=True)
class OutboxRow:
    """One event of the request as an outbox holds it."""

    body: dict
    added: datetime
    relay_status: str  # sent, pending or failed
    relay_attempts: int

    def to_dict(self) -> dict:
        return {
            "body": self.body,
            "added": self.added.isoformat(),
            "relay_status": self.relay_status,
            "relay_attempts": self.relay_attempts,
        }

    @classmethod
    def from_dict(cls, row: dict) -> "OutboxRow":
        added = parse_datetime(row["added"])
        if added is None or not isinstance(row["body"], dict):
            raise ValueError(f"not an outbox row: {str(row)[:200]}")
        return cls(row["body"], added, str(row["relay_status"]), int(row["relay_attempts"]))


@dataclass(frozen=True)
class Trace:
    """What one deployment's own tables hold of a request."""

    outbox: list[OutboxRow]
    inbox: list[InboxRow]
    truncated: bool = False

    def to_dict(self) -> dict:
        return {
            "outbox": [row.to_dict() for row in self.outbox],
            "inbox": [row.to_dict() for row in self.inbox],
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, answer: dict) -> "Trace":
        return cls(
            outbox=[OutboxRow.from_dict(row) for row in answer["outbox"]],
            inbox=[InboxRow.from_dict(row) for row in answer["inbox"]],
            truncated=bool(answer.get("truncated")),
        )


@dataclass(frozen=True)
class Consumer:
    """A lane of consuming modules: ``module`` as ``deployment`` runs it."""

    module: str
    deployment: str = MONOLITH

    @property
    def name(self) -> str:
        return self.module if self.deployment == MONOLITH else f"{self.module} @ {self.deployment} service"


@dataclass(frozen=True)
class Delivery:
    consumer: Consumer
    status: str  # APPLIED, FAILED or PENDING
    at: datetime | None = None
    latency: timedelta | None = None
    attempts: int = 0  # failed attempts recorded (a dead letter's, or those before a retry that worked)
    error: str = ""

    @property
    def retried(self) -> bool:
        return self.status == APPLIED and self.attempts > 0


@dataclass
class Step:
    """One event of the request, in the order they were written to an outbox."""

    id: str
    type: str
    version: int
    subject: str
    sequence: int
    emitter: Consumer  # the module that emitted it, where it runs
    origin: str  # the deployment whose outbox holds it
    emitted_at: datetime
    relay_status: str  # sent, pending, failed, or unknown (only an inbox had it)
    relay_attempts: int
    causation_id: str | None
    parent: "Step | None" = None
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def routing_key(self) -> str:
        return routing_key(self.type, self.version)

    @property
    def root(self) -> bool:
        """Emitted while handling the request itself, not an event."""
        return self.causation_id is None


@dataclass
class Choreography:
    correlation_id: str
    steps: list[Step]
    consumers: list[Consumer]  # the lanes of consuming modules, in the order drawn
    notes: list[str]
    truncated: bool = False


def validate_correlation_id(value: str) -> str:
    value = (value or "").strip()
    if not CORRELATION_ID.match(value):
        raise InvalidCorrelationId(
            f"{value[:200]!r} is not a correlation id: 1 to 128 letters, digits or . _ : - (an X-Request-ID)"
        )
    return value


def local_trace(correlation_id: str) -> Trace:
    """This deployment's outbox and inbox rows of ``correlation_id`` (a service answers the
    monolith this)."""
    published = list(
        Published.objects.filter(body__correlation_id=correlation_id)
        .order_by("added")
        .values_list("body", "added", "status", "retry")[: MAX_EVENTS + 1]
    )
    applied = AppliedEvent.objects.filter(correlation_id=correlation_id).values_list(
        "key", "consumer", "applied_at", "attempts"
    )
    failed = Received.objects.filter(headers__correlation_id=correlation_id).values_list("headers", "added", "retry")
    relayed = {StatusChoice.SUCCEEDED: "sent", StatusChoice.FAILED: "failed"}
    return Trace(
        outbox=[
            OutboxRow(body, added, relayed.get(status, "pending"), retry) for body, added, status, retry in published
        ][:MAX_EVENTS],
        inbox=[
            InboxRow(
                module=consumer, event_id=key[len(consumer) + 1 :], status=APPLIED, at=at, attempts=attempts, error=""
            )
            for key, consumer, at, attempts in applied[: MAX_EVENTS * 20]
        ]
        + [
            InboxRow(
                module=headers.get("consumer", ""),
                event_id=headers.get("event_id", ""),
                status=FAILED,
                at=added,
                attempts=retry,
                error=headers.get("error", ""),
            )
            for headers, added, retry in failed[: MAX_EVENTS * 20]
        ],
        truncated=len(published) > MAX_EVENTS,
    )


def choreography(correlation_id: str) -> Choreography:
    """The picture's facts for ``correlation_id``. Raises InvalidCorrelationId."""
    correlation_id = validate_correlation_id(correlation_id)
    notes: list[str] = []
    here = settings.BLIPAY_DEPLOYMENT
    traces = {here: local_trace(correlation_id)}
    for service, modules in settings.SERVICE_MODULES.items():
        if service != here and (answer := _ask_service(service, modules, correlation_id, notes)) is not None:
            traces[service] = answer

    steps: dict[str, Step] = {}
    for deployment, trace in traces.items():
        for row in trace.outbox:
            steps.setdefault(str(row.body["id"]), _step(row, deployment))
    _add_steps_only_inboxes_know(steps, correlation_id, traces[here])
    ordered = sorted(steps.values(), key=lambda step: step.emitted_at)
    for step in ordered:
        step.parent = steps.get(step.causation_id or "")

    consumers = [Consumer(module, here) for module in consuming_modules()]
    consumers += [
        Consumer(module, service)
        for service in traces
        if service != here
        for module in settings.SERVICE_MODULES[service]
    ]
    inboxes: dict[Consumer, dict[str, InboxRow]] = {}
    for deployment, trace in traces.items():
        for row in trace.inbox:
            inboxes.setdefault(Consumer(row.module, deployment), {})[row.event_id] = row
    consumers += [consumer for consumer in inboxes if consumer not in consumers]  # handlers since removed
    subscribed = {consumer: _bindings(consumer.module) for consumer in consumers}
    for step in ordered:
        for consumer in consumers:
            row = inboxes.get(consumer, {}).get(step.id)
            if row is not None:
                step.deliveries.append(_delivery(consumer, step, row))
            elif step.routing_key in subscribed[consumer] and step.relay_status != "failed":
                step.deliveries.append(Delivery(consumer, PENDING))
    for step in ordered:
        step.emitter = _handler_of(step)
    return Choreography(
        correlation_id=correlation_id,
        steps=ordered,
        consumers=_lanes(ordered),
        notes=notes,
        truncated=any(trace.truncated for trace in traces.values()),
    )


def deployment_name(deployment: str) -> str:
    return "the monolith" if deployment == MONOLITH else f"the {deployment} service"


def _bindings(module: str) -> set[str]:
    """The routing keys ``module`` takes here (none for a module with no handlers any more)."""
    try:
        return set(routing_keys(module))
    except LookupError:
        return set()


def _step(row: OutboxRow, deployment: str) -> Step:
    body = row.body
    return Step(
        id=str(body["id"]),
        type=body["type"],
        version=int(body["version"]),
        subject=str(body["subject"]),
        sequence=int(body["sequence"]),
        emitter=Consumer(str(body.get("source", "")).removeprefix("blipay."), deployment),
        origin=deployment,
        emitted_at=row.added,
        relay_status=row.relay_status,
        relay_attempts=row.relay_attempts,
        causation_id=body.get("causation_id"),
    )


def _add_steps_only_inboxes_know(steps: dict[str, Step], correlation_id: str, trace: Trace) -> None:
    """Events this deployment took but whose outbox it can't read (a service emitted them).
    A failed delivery keeps the envelope: drawn from it, with the time the event carries.
    An applied one keeps its type and cause: drawn at the time it was applied, its subject
    and sequence unknown."""
    missing = {row.event_id for row in trace.inbox} - set(steps)
    if not missing:
        return
    bodies = Received.objects.filter(headers__correlation_id=correlation_id, headers__event_id__in=list(missing))
    for body in bodies.values_list("body", flat=True):
        if str(body["id"]) not in steps:
            steps[str(body["id"])] = _step(OutboxRow(body, parse_datetime(body["time"]), "unknown", 0), _origin(body))
    rows = AppliedEvent.objects.filter(correlation_id=correlation_id, key__in=_keys(trace.inbox, missing))
    for row in rows.order_by("applied_at"):
        if row.event_id in steps:
            continue
        try:
            kind = event_type(row.routing_key)
            name, version, source = kind.name, kind.version, kind.source
        except UnknownEventType:  # retired since it was applied: its key still names it
            (name, version), source = name_and_version(row.routing_key), ""
        body = {
            "id": row.event_id,
            "type": name,
            "version": version,
            "source": source,
            "subject": "?",
            "sequence": -1,
            "causation_id": row.causation_id,
        }
        steps[row.event_id] = _step(OutboxRow(body, row.applied_at, "unknown", 0), _origin(body))


def _keys(inbox: list[InboxRow], event_ids: set[str]) -> list[str]:
    return [inbox_id(row.module, row.event_id) for row in inbox if row.event_id in event_ids]


def _origin(body: dict) -> str:
    module = body["source"].removeprefix("blipay.")
    return next((s for s, modules in settings.SERVICE_MODULES.items() if module in modules), "elsewhere")


def _handler_of(step: Step) -> Consumer:
    """Who emitted a caused event: the module whose handler of the cause did. That is the
    module the event type belongs to (its ``source``), unless a single other module applied
    the cause (a module may emit another's types)."""
    if step.parent is None:
        return step.emitter
    applied = [
        d.consumer for d in step.parent.deliveries if d.status == APPLIED and d.consumer.deployment == step.origin
    ]
    if step.emitter in applied or len(applied) != 1:
        return step.emitter
    return applied[0]


def _lanes(steps: list[Step]) -> list[Consumer]:
    """The modules that emitted or consumed an event, in order of first appearance, a
    module's service lane right after its monolith lane."""
    seen: dict[Consumer, None] = {}
    for step in steps:
        seen.setdefault(step.emitter)
        for delivery in step.deliveries:
            seen.setdefault(delivery.consumer)
    first = {consumer.module: index for index, consumer in reversed(list(enumerate(seen)))}
    return sorted(seen, key=lambda c: (first[c.module], c.deployment != MONOLITH))


def _delivery(consumer: Consumer, step: Step, row: InboxRow) -> Delivery:
    if row.status == FAILED:
        return Delivery(consumer, FAILED, at=row.at, attempts=row.attempts, error=row.error)
    # A delivery that failed before being retried keeps the time of its failure: its
    # latency would say nothing about how long the module took.
    latency = None if row.attempts else max(row.at - step.emitted_at, timedelta(0))
    return Delivery(consumer, APPLIED, at=row.at, latency=latency, attempts=row.attempts, error=row.error)


def _ask_service(service: str, modules: list[str], correlation_id: str, notes: list[str]) -> Trace | None:
    """Ask ``service`` what it holds of the request; None, with a note saying why, when it
    can't be asked. A service never set up (no address, owning none of its modules) is not
    part of the picture and gets no note."""
    base = settings.BLIPAY_SERVICES.get(service)
    where = f"the {service} service keeps its own outbox and inbox (its database) for {', '.join(modules)}"
    if base is None:
        owned = [module for module in modules if owner_of(module) == service]
        if owned:
            notes.append(
                f"{', '.join(owned)}: side effects run in the {service} service, and {where}: "
                f"not asked, BLIPAY_SERVICES has no address for {service}. What it emitted shows only "
                "where this deployment's modules applied it."
            )
        return None
    path = f"/internal/trace/{correlation_id}"
    try:
        answer = signed_get(base, path)
        if answer.status != 200:
            raise ValueError(f"it answered {answer.status}")
        trace = Trace.from_dict(answer.json())
    except (urllib3.exceptions.HTTPError, ValueError, KeyError, TypeError) as exc:
        notes.append(f"{where}; asking {base}{path} failed: {exc}")
        return None
    owners = ", ".join(f"the side effects of {module} run in {deployment_name(owner_of(module))}" for module in modules)
    notes.append(f"{where}: asked at {base}, its lanes are marked “@ {service} service” ({owners}).")
    return trace


@dataclass(frozen=True)
class Request:
    """A request that emitted events about one aggregate: its correlation id, when, and the
    events the request itself emitted (what it did, before any module reacted)."""

    correlation_id: str
    at: datetime
    emitted: list[str]


def requests_about(
    subject: object, types: list[str], *, since: datetime | None = None, limit: int = 20
) -> list[Request]:
    """The newest ``limit`` requests that emitted an event of ``types`` (names, any version)
    about ``subject``, newest first, as far as the outbox still keeps them. ``since`` (when
    the subject was created) keeps the search to the outbox's rows from then on: ``added``
    is indexed, the envelope's fields are not."""
    rows = Published.objects.filter(added__gte=since) if since is not None else Published.objects.all()
    about = (
        rows.filter(body__subject=str(subject), body__type__in=types)
        .order_by("-added")
        .values_list("body__correlation_id", "added")[: limit * 4]
    )
    newest: dict[str, datetime] = {}
    for correlation_id, added in about:
        if correlation_id not in newest and len(newest) < limit:
            newest[correlation_id] = added
    emitted: dict[str, list[str]] = {correlation_id: [] for correlation_id in newest}
    roots = rows.filter(body__correlation_id__in=list(newest), body__causation_id=None).order_by("added")
    for correlation_id, kind in roots.values_list("body__correlation_id", "body__type"):
        emitted[correlation_id].append(kind)
    return [Request(correlation_id, at, emitted[correlation_id]) for correlation_id, at in newest.items()]
