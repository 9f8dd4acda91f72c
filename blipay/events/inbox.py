"""The inbox: what each consuming module has already applied, written in the handler's
transaction so that an effect and its record commit together or not at all.

An applied event is one narrow row of ``blipay_inbox`` (``AppliedEvent``), keyed
``<module>:<event id>`` because every module applies an event on its own. A delivery that
failed every attempt is kept, with its envelope and error, in django-outbox-pattern's
``received`` table, where the admin lists and retries it; applying it later removes it.
"""

import json
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received

from blipay.events.envelope import Envelope
from blipay.events.models import AppliedEvent, AppliedVersion

_FAILED = StatusChoice.FAILED.value

# A batch travels as one JSON parameter, an array of rows (arrays), read back as rows by
# the database: a placeholder per value cost more to format (psycopg) than the insert
# itself. ``value ->> n`` reads a row's n-th value on both databases.
_EACH = {"postgresql": "jsonb_array_elements(%(rows)s::jsonb)", "sqlite": "json_each(%(rows)s)"}

# Claim a batch: insert its applied rows (RETURNING names those this transaction won) and
# take its failed rows out of ``received``, their attempts carried over. On PostgreSQL one
# statement; a concurrent duplicate waits on the primary key, then sees it taken. SQLite has
# no data-modifying CTE: two statements there (its writers are serialised).
_CLAIM = {
    "postgresql": [
        f"""
        WITH batch AS (
            SELECT value ->> 0 AS key, value ->> 1 AS routing_key, value ->> 2 AS correlation_id,
                   value ->> 3 AS causation_id
            FROM {_EACH["postgresql"]}
        ), failed AS (
            DELETE FROM received WHERE status = {_FAILED} AND msg_id IN (SELECT key FROM batch) RETURNING msg_id, retry
        )
        INSERT INTO blipay_inbox (key, consumer, routing_key, correlation_id, causation_id, applied_at, attempts)
        SELECT batch.key, %(consumer)s, batch.routing_key, batch.correlation_id, batch.causation_id, %(now)s,
               COALESCE(failed.retry, 0)
        FROM batch LEFT JOIN failed ON failed.msg_id = batch.key
        ON CONFLICT (key) DO NOTHING RETURNING key
        """
    ],
    "sqlite": [
        f"""
        INSERT INTO blipay_inbox (key, consumer, routing_key, correlation_id, causation_id, applied_at, attempts)
        SELECT value ->> 0, %(consumer)s, value ->> 1, value ->> 2, value ->> 3, %(now)s,
               COALESCE((SELECT retry FROM received WHERE msg_id = value ->> 0 AND status = {_FAILED}), 0)
        FROM {_EACH["sqlite"]} WHERE true
        ON CONFLICT (key) DO NOTHING RETURNING key
        """,
        f"""
        DELETE FROM received WHERE status = {_FAILED}
        AND msg_id IN (SELECT value ->> 0 FROM {_EACH["sqlite"]})
        """,
    ],
}

# The version guard's upserts: make a row exist for each key, and move keys forward.
_VERSIONS_UPSERT = (
    "INSERT INTO blipay_applied_version (consumer, aggregate, subject, sequence)"
    " SELECT %(consumer)s, value ->> 0, value ->> 1, {sequence} FROM {each} WHERE true"
    " ON CONFLICT (consumer, aggregate, subject) "
)
_VERSIONS_ENSURE = {
    vendor: _VERSIONS_UPSERT.format(sequence="-1", each=each) + "DO NOTHING" for vendor, each in _EACH.items()
}
# Lock and read them. In SQL rather than the ORM, whose query building cost 0.3 ms of CPU per
# batch (a one-event batch 0.95 → 0.65 ms with its transaction): at a few events a second
# every batch is one event. By the unique key's columns, so each is one index lookup
# however many versions the module holds. SQLite: its writers are serialised already.
_VERSIONS_LOCK = {
    vendor: "SELECT aggregate, subject, sequence FROM blipay_applied_version WHERE consumer = %(consumer)s"
    f" AND (aggregate, subject) IN (SELECT value ->> 0, value ->> 1 FROM {each})"
    + (" FOR UPDATE" if vendor == "postgresql" else "")
    for vendor, each in _EACH.items()
}
_VERSIONS_MOVE = {
    vendor: _VERSIONS_UPSERT.format(sequence="CAST(value ->> 2 AS bigint)", each=each)
    + "DO UPDATE SET sequence = excluded.sequence WHERE blipay_applied_version.sequence < excluded.sequence"
    for vendor, each in _EACH.items()
}


def inbox_id(module: str, event_id: str) -> str:
    return f"{module}:{event_id}"


def applied(module: str, event_id: str) -> bool:
    """Has ``module`` applied this event? A delivery kept as failed is not applied."""
    return AppliedEvent.objects.filter(key=inbox_id(module, event_id)).exists()


def claim(module: str, envelopes: Sequence[Envelope]) -> set[str]:
    """Record that ``module`` applies these events; return the ids it had not applied yet.

    An event kept as failed is claimed, and its failed row removed, in the same statement.
    Call inside the handlers' transaction: a concurrent duplicate waits on the primary key,
    then sees it taken. ``envelopes`` must have distinct ids.
    """
    if not envelopes:
        return set()
    rows = [[inbox_id(module, e.id), e.routing_key, e.correlation_id, e.causation_id] for e in envelopes]
    now = AppliedEvent._meta.get_field("applied_at").get_db_prep_value(timezone.now(), connection)
    params = {"rows": json.dumps(rows), "consumer": module, "now": now}
    claiming, *then = _CLAIM[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(claiming, params)
        won = cursor.fetchall()
        for statement in then:
            cursor.execute(statement, params)
    prefix = len(module) + 1
    return {key[prefix:] for (key,) in won}


def advance_versions(module: str, events: Sequence[tuple[str, str, int, str]]) -> set[str]:
    """Take ``(aggregate, subject, sequence, event id)`` in delivery order; return the ids of
    the events newer than what ``module`` holds (and than those before them), and move its
    versions forward. Three statements, however many events."""
    newest: dict[tuple[str, str], int] = {}
    for aggregate, subject, sequence, _ in events:
        newest[aggregate, subject] = max(sequence, newest.get((aggregate, subject), sequence))
    if not newest:
        return set()
    keys = list(newest)
    with connection.cursor() as cursor:
        # Make a row exist for every key, then lock them all: the versions read next can't
        # move under us, even for an aggregate this module has never seen.
        params = {"consumer": module, "rows": json.dumps(keys)}
        cursor.execute(_VERSIONS_ENSURE[connection.vendor], params)
        cursor.execute(_VERSIONS_LOCK[connection.vendor], params)
        held = {(aggregate, subject): sequence for aggregate, subject, sequence in cursor.fetchall()}
    fresh = set()
    for aggregate, subject, sequence, event_id in events:
        if sequence > held[aggregate, subject]:
            fresh.add(event_id)
            held[aggregate, subject] = sequence
    moved = [[aggregate, subject, newest[aggregate, subject]] for aggregate, subject in keys]
    with connection.cursor() as cursor:
        cursor.execute(_VERSIONS_MOVE[connection.vendor], {"consumer": module, "rows": json.dumps(moved)})
    return fresh


def forget_versions(module: str) -> int:
    """Let ``module`` apply every state event again (before a replay rebuilds its replicas)."""
    deleted, _ = AppliedVersion.objects.filter(consumer=module).delete()
    return deleted


def record_failure(module: str, envelope: Envelope, *, attempts: int, error: str) -> None:
    """Keep a failed delivery visible and retryable (the admin lists and retries these),
    unless another delivery of it has since been applied."""
    if applied(module, envelope.id):
        return
    headers = _headers(module, envelope) | {"error": error[:2000], "attempts": attempts}
    row, created = Received.objects.get_or_create(
        msg_id=inbox_id(module, envelope.id),
        defaults={"headers": headers, "body": envelope.to_dict(), "status": StatusChoice.FAILED, "retry": attempts},
    )
    if not created:
        Received.objects.filter(pk=row.pk).update(headers=headers, retry=F("retry") + attempts)


def delete_old_applied(*, older_than: timedelta) -> int:
    """Forget applied deliveries past retention (the window in which duplicates are caught).
    Failed ones stay until they are retried or dealt with."""
    deleted, _ = AppliedEvent.objects.filter(applied_at__lt=timezone.now() - older_than).delete()
    return deleted


def delete_received_of(*, routing_keys: Collection[str], before: datetime) -> int:
    """Forget the deliveries of these types that arrived before ``before``, applied or
    failed: for records that expire (notifications), whose copy in the inbox must go too."""
    applied_deleted, _ = AppliedEvent.objects.filter(routing_key__in=list(routing_keys), applied_at__lt=before).delete()
    failed_deleted, _ = Received.objects.filter(headers__destination__in=list(routing_keys), added__lt=before).delete()
    return applied_deleted + failed_deleted


def _headers(module: str, envelope: Envelope) -> dict:
    return {
        "consumer": module,
        "destination": envelope.routing_key,
        "event_id": envelope.id,
        "correlation_id": envelope.correlation_id,
    }
