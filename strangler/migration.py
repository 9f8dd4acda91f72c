"""Moving a module's side effects: backfill a freshly started service with the module's
history, hand the module's event consumption over and back, and wait for the other side.

Backfill (``strangler backfill <module>``): the module's history is what its producers
published (the outbox of the monolith; retention keeps every aggregate's newest state).
The events the module applies as copies — its replayable handlers' types — are
republished with their original ids to the service's queue alone (the default exchange,
addressed by queue name, not ``blipay.events`` where every other consumer would get them
again), marked as a replay: the service updates its copies and causes no side effect.
A final ``module.backfilled`` message follows; once the service's inbox has it,
everything before it is applied.

Handover (``strangler handover <module> --to service|monolith``): a ``module.handover``
marker goes through the outbox and the exchange like any event, so it takes one place
in the stream, the same in every deployment's queue. Each deployment switches when its
consumer reaches it: events before the marker are the old owner's to act on, events
after it the new owner's; none is acted on twice or never. Nobody's copy stops: each side
keeps applying the module's state events, and the new owner's ``notification.sent``.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.db import transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received
from kombu import Exchange, Producer

from blipay.events.broker import REPLAY_HEADER, OutgoingMessage, connect, queue_name
from blipay.events.control import MONOLITH, ModuleBackfilled, ModuleHandover
from blipay.events.digests import digest
from blipay.events.inbox import applied, inbox_id
from blipay.events.outbox import Outbound, emit, envelope_of
from blipay.events.subscriptions import consuming_modules, routing_keys
from blipay.identity.internal import signed_get
from strangler.routes import RouteError


def service_of(module: str) -> str:
    """The extracted service that runs ``module``."""
    for service, modules in settings.SERVICE_MODULES.items():
        if module in modules:
            return service
    raise RouteError(f"no extracted service runs {module!r} (extractable: {', '.join(settings.SERVICE_MODULES)})")


def _service_url(service: str) -> str:
    try:
        return settings.BLIPAY_SERVICES[service]
    except KeyError:
        raise RouteError(f"{service!r} is not in BLIPAY_SERVICES (set {service}=http://host:port)") from None


def backfill(module: str, *, progress: Callable[[int, int], None] | None = None, timeout: float = 120) -> int:
    """Replay ``module``'s history to its service; return how many events were sent once
    the service has applied them all."""
    if module not in consuming_modules():
        raise RouteError(f"{module!r} consumes no events here (modules: {', '.join(consuming_modules())})")
    service = service_of(module)
    base = _service_url(service)
    target = queue_name(module, deployment=service)
    rows = (
        Published.objects.filter(
            destination__in=routing_keys(module, replayable_only=True), status=StatusChoice.SUCCEEDED
        )
        .order_by("added")
        .values_list("body", flat=True)
    )
    total = rows.count()
    marker = envelope_of(Outbound(ModuleBackfilled(module=module, events=total), subject=module, sequence=1))
    with connect() as broker:
        channel = broker.channel()
        try:
            channel.queue_declare(queue=target, passive=True)
        except broker.channel_errors as exc:
            raise RouteError(
                f"queue {target} does not exist: start the {service} service first (make run-service)"
            ) from exc
        if broker.transport.driver_type == "amqp":
            channel.confirm_select()  # each publish returns once the broker has it
        producer = Producer(channel, exchange=Exchange(""))
        for sent, body in enumerate(rows.iterator(1000), 1):
            _publish(producer, OutgoingMessage.from_envelope(body), target, replay=True)
            if progress is not None and (sent % 500 == 0 or sent == total):
                progress(sent, total)
        _publish(producer, OutgoingMessage.from_envelope(marker.to_dict()), target, replay=False)
    wait_applied(base, module, marker.id, timeout=timeout)
    return total


def _publish(producer: Producer, message: OutgoingMessage, queue: str, *, replay: bool) -> None:
    producer.publish(
        message.body,
        routing_key=queue,
        content_type="application/json",
        content_encoding="utf-8",
        headers={**message.headers, REPLAY_HEADER: 1} if replay else message.headers,
        retry=True,
        **message.properties,
    )


def handover(module: str, *, to: str, timeout: float = 60) -> str:
    """Move ``module``'s side effects to ``to`` (service or monolith); return the marker's
    id once both sides have taken it."""
    if to not in (MONOLITH, "service"):
        raise RouteError("--to must be service or monolith")
    service = service_of(module)
    base = _service_url(service)
    owner = MONOLITH if to == MONOLITH else service
    # Epochs only grow, even after the outbox forgot old markers: a marker redelivered late
    # never moves ownership back. Milliseconds: two handovers are seconds apart at least.
    epoch = int(time.time() * 1000)
    with transaction.atomic():
        [envelope] = emit(
            Outbound(ModuleHandover(module=module, owner=owner, epoch=epoch), subject=module, sequence=epoch)
        )
    deadline = time.monotonic() + timeout
    while not (applied(module, envelope.id) or Received.objects.filter(msg_id=inbox_id(module, envelope.id)).exists()):
        if time.monotonic() > deadline:
            raise RouteError(f"the monolith's {module} consumer has not reached marker {envelope.id} yet; it will")
        time.sleep(0.1)
    wait_applied(base, module, envelope.id, timeout=max(1.0, deadline - time.monotonic()))
    return envelope.id


def wait_applied(base: str, module: str, event_id: str, *, timeout: float) -> None:
    """Wait until the service at ``base`` has ``event_id`` in ``module``'s inbox."""
    path = f"/internal/inbox/{module}/{event_id}"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = signed_get(base, path)
            if answer.status == 200:
                return
            last = f"{answer.status} {json.loads(answer.data or b'{}')}"
        except (urllib3.exceptions.HTTPError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise RouteError(
        f"the service has not applied {event_id} within {timeout:.0f}s ({last}); it will when it catches up"
    )


@dataclass(frozen=True)
class Reconciliation:
    subjects: int
    only_monolith: list[str]
    only_service: list[str]
    different: list[str]

    @property
    def clean(self) -> bool:
        return not (self.only_monolith or self.only_service or self.different)


def reconcile(module: str) -> Reconciliation:
    """Compare the module's data on both sides, subject by subject (counts and a content
    hash): it must be clean before the monolith's path is retired."""
    base = _service_url(service_of(module))
    path = f"/internal/digest/{module}"
    answer = signed_get(base, path)
    if answer.status != 200:
        raise RouteError(f"the service answered {answer.status} to {path}: {answer.data[:200]!r}")
    theirs = json.loads(answer.data)["subjects"]
    ours = digest(module)
    return Reconciliation(
        subjects=len(set(ours) | set(theirs)),
        only_monolith=sorted(set(ours) - set(theirs)),
        only_service=sorted(set(theirs) - set(ours)),
        different=sorted(s for s in set(ours) & set(theirs) if ours[s] != theirs[s]),
    )
