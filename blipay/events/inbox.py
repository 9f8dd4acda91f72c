"""The inbox: what each consuming module has already applied, written in the handler's
transaction so that an effect and its record commit together or not at all.

An applied event is one narrow row of ``blipay_inbox`` (``AppliedEvent``), keyed
``<module>:<event id>`` because every module applies an event on its own. A delivery that
failed every attempt is kept, with its envelope and error, in django-outbox-pattern's
``received`` table, where the admin lists and retries it; applying it later removes it.
"""

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received

from blipay.events.envelope import Envelope
from blipay.events.models import AppliedEvent, AppliedVersion

# One statement on PostgreSQL: take the batch's failed rows out of ``received`` (their
# attempts move to the applied row) and insert the applied rows; a concurrent duplicate
# waits on the primary key, then sees it taken. RETURNING names the rows this transaction
# won. The batch comes as arrays, a few parameters however long it is: a placeholder per
# value cost more to format than the insert itself.
_CLAIM_POSTGRESQL = """
    WITH batch AS (
        SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])
            AS b (key, routing_key, correlation_id, causation_id)
    ), failed AS (
        DELETE FROM received WHERE status = {failed} AND msg_id IN (SELECT key FROM batch) RETURNING msg_id, retry
    )
    INSERT INTO blipay_inbox (key, consumer, routing_key, correlation_id, causation_id, applied_at, attempts)
    SELECT batch.key, %s, batch.routing_key, batch.correlation_id, batch.causation_id, %s, COALESCE(failed.retry, 0)
    FROM batch LEFT JOIN failed ON failed.msg_id = batch.key
    ON CONFLICT (key) DO NOTHING RETURNING key
"""

# SQLite has no data-modifying CTE: the same in two statements (its writers are serialised).
_FORGET_FAILED_SQLITE = "DELETE FROM received WHERE status = {failed} AND msg_id IN ({keys}) RETURNING msg_id, retry"
_CLAIM_SQLITE = """
    INSERT INTO blipay_inbox (key, consumer, routing_key, correlation_id, causation_id, applied_at, attempts)
    VALUES {rows} ON CONFLICT (key) DO NOTHING RETURNING key
"""

_VERSIONS_UPSERT = (
    "INSERT INTO blipay_applied_version (consumer, aggregate, subject, sequence) {rows}"
    " ON CONFLICT (consumer, aggregate, subject)"
)
_VERSIONS_MOVE = " DO UPDATE SET sequence = excluded.sequence WHERE blipay_applied_version.sequence < excluded.sequence"


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
    now = AppliedEvent._meta.get_field("applied_at").get_db_prep_value(timezone.now(), connection)
    keys = [inbox_id(module, envelope.id) for envelope in envelopes]
    rows = [
        (key, module, envelope.routing_key, envelope.correlation_id, envelope.causation_id, now)
        for key, envelope in zip(keys, envelopes, strict=True)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            key, _, routing_key, correlation_id, causation_id, _ = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                _CLAIM_POSTGRESQL.format(failed=int(StatusChoice.FAILED)),
                [key, routing_key, correlation_id, causation_id, module, now],
            )
        else:
            marks = ", ".join(["%s"] * len(keys))
            cursor.execute(_FORGET_FAILED_SQLITE.format(failed=int(StatusChoice.FAILED), keys=marks), keys)
            attempts = dict(cursor.fetchall())
            cursor.execute(
                _CLAIM_SQLITE.format(rows=", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))),
                [value for row in rows for value in (*row, attempts.get(row[0], 0))],
            )
        prefix = len(module) + 1
        return {key[prefix:] for (key,) in cursor.fetchall()}


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
        cursor.execute(
            _VERSIONS_UPSERT.format(rows=_rows(len(keys))) + " DO NOTHING",
            _columns([(module, aggregate, subject, -1) for aggregate, subject in keys]),
        )
    locked = AppliedVersion.objects.select_for_update().filter(
        consumer=module, subject__in={subject for _, subject in keys}
    )
    held = {
        (aggregate, subject): sequence
        for aggregate, subject, sequence in locked.values_list("aggregate", "subject", "sequence")
        if (aggregate, subject) in newest
    }
    fresh = set()
    for aggregate, subject, sequence, event_id in events:
        if sequence > held[aggregate, subject]:
            fresh.add(event_id)
            held[aggregate, subject] = sequence
    with connection.cursor() as cursor:
        cursor.execute(
            _VERSIONS_UPSERT.format(rows=_rows(len(keys))) + _VERSIONS_MOVE,
            _columns([(module, aggregate, subject, newest[aggregate, subject]) for aggregate, subject in keys]),
        )
    return fresh


def _rows(count: int) -> str:
    """The rows of a versions upsert: on PostgreSQL four arrays (a few parameters however
    many rows: formatting a placeholder per value cost more than the upsert); on SQLite,
    which has no arrays, a row of placeholders each."""
    if connection.vendor == "postgresql":
        return "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[])"
    return "VALUES " + ", ".join(["(%s, %s, %s, %s)"] * count)


def _columns(rows: list[tuple]) -> list:
    if connection.vendor == "postgresql":
        return [list(column) for column in zip(*rows, strict=True)]
    return [value for row in rows for value in row]


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
