"""emit(): the one way a module publishes an event.

The event is written to the transactional outbox (django-outbox-pattern's ``published``
table) in the caller's transaction, so it exists if and only if the change it describes
was committed. The relay sends it to the broker after the commit.
"""

import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_outbox_pattern.models import Published

from blipay.events.context import current_cause
from blipay.events.envelope import Envelope
from blipay.events.errors import NotInTransaction
from blipay.events.models import RelayKick
from blipay.events.registry import EventType


def emit(
    event_type: EventType, *, subject: str, sequence: int, data: dict[str, Any], using: str = "default"
) -> Envelope:
    """Record ``data`` as an event of ``event_type`` about aggregate ``subject``.

    Call inside ``transaction.atomic()``. ``sequence`` is the aggregate's version after the
    change (for state events it orders them; consumers skip an older one). Raises
    EventSchemaError, and records nothing, when ``data`` breaks the type's schema.
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise NotInTransaction(f"emit({event_type.routing_key}) must run inside transaction.atomic()")
    envelope = envelope_of(event_type, subject=subject, sequence=sequence, data=data)
    Published(
        id=envelope.id,
        destination=event_type.name,
        version=f"v{event_type.version}",  # Published.save() makes destination the routing key
        body=envelope.to_dict(),
        headers={"dop-correlation-id": envelope.correlation_id},
    ).save(force_insert=True, using=using)
    _kick_relay_on_commit(using)
    return envelope


def envelope_of(event_type: EventType, *, subject: str, sequence: int, data: dict[str, Any]) -> Envelope:
    """A new event of ``event_type``, validated, caused by whatever is running now. emit()
    puts it in the outbox; the strangler sends a control message straight to one queue."""
    event_type.validate(data)
    cause = current_cause()
    return Envelope(
        id=str(uuid.uuid4()),
        type=event_type.name,
        version=event_type.version,
        source=f"blipay.{event_type.source}",
        subject=str(subject),
        sequence=sequence,
        time=timezone.now().isoformat(),
        correlation_id=cause.correlation_id,
        causation_id=cause.causation_id,
        traceparent=cause.child_traceparent(),
        data=data,
    )


def _kick_relay_on_commit(using: str) -> None:
    if not settings.BLIPAY_EVENTS["RELAY_ON_COMMIT"]:
        return
    # One kick per committing transaction, however many events it emitted. Django keeps
    # the pending callbacks on the connection (``run_on_commit``: savepoints, func, robust).
    pending = transaction.get_connection(using).run_on_commit
    if any(callback is _kick_relay for _, callback, _ in pending):
        return
    # robust: a Celery broker that is down must not fail the caller's committed request;
    # the beat sweep relays what a lost kick left behind.
    transaction.on_commit(_kick_relay, using=using, robust=True)


def _kick_relay() -> None:
    """Queue the relay task, unless a kick is already waiting: that one starts draining after
    this commit (it clears the flag first), so it sends these events too. At most one kick
    waits, however many commits there are; under load that was half the relay's CPU."""
    from blipay.events.tasks import relay

    if RelayKick.objects.filter(pk=1, pending=True).exists():  # a lock-free read: the common case under load
        return
    table = RelayKick._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, pending) VALUES (1, %s) ON CONFLICT (id) DO UPDATE"
            f" SET pending = excluded.pending WHERE {table}.pending = %s RETURNING id",
            [True, False],
        )
        if cursor.fetchone() is None:
            return
    relay.delay()


def relay_kick_taken() -> None:
    """The relay calls this as it starts draining: commits from now on queue a kick again."""
    RelayKick.objects.filter(pk=1).update(pending=False)
