"""The inbox: what each consuming module has already applied, written in the handler's
transaction so that an effect and its record commit together or not at all.

Rows live in django-outbox-pattern's ``received`` table, one per (module, event):
``msg_id`` is ``<module>:<event id>`` because every module applies an event on its own.
"""

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received

from blipay.events.envelope import Envelope
from blipay.events.models import AppliedVersion


def inbox_id(module: str, event_id: str) -> str:
    return f"{module}:{event_id}"


def applied(module: str, event_id: str) -> bool:
    """Has ``module`` applied this event? A row left failed by an attempt is not applied."""
    return Received.objects.filter(msg_id=inbox_id(module, event_id), status=StatusChoice.SUCCEEDED).exists()


def claim(module: str, envelopes: Sequence[Envelope]) -> set[str]:
    """Record that ``module`` applies these events; return the ids it had not applied yet.

    A row left failed by an earlier attempt is claimed again. Call inside the handlers'
    transaction: a concurrent duplicate waits on the unique ``msg_id``, then sees it taken.
    ``envelopes`` must have distinct ids.
    """
    if not envelopes:
        return set()
    now = timezone.now()
    added = Received._meta.get_field("added").get_db_prep_value(now, connection)
    expires = Received._meta.get_field("expires_at").get_db_prep_value(now + timedelta(days=1), connection)
    new_id = Received._meta.pk.get_db_prep_value
    rows = [
        (
            new_id(uuid.uuid4(), connection),
            inbox_id(module, envelope.id),
            json.dumps(_headers(module, envelope)),
            json.dumps(envelope.to_dict()),
            added,
            expires,
            StatusChoice.SUCCEEDED,
        )
        for envelope in envelopes
    ]
    with connection.cursor() as cursor:
        # One statement for the whole batch: insert, or take back failed rows; RETURNING
        # names the rows this transaction won.
        cursor.execute(
            "INSERT INTO received (id, msg_id, headers, body, added, expires_at, retry, status) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s, %s, 0, %s)"] * len(rows))
            + " ON CONFLICT (msg_id) DO UPDATE SET status = excluded.status"
            " WHERE received.status = %s RETURNING msg_id",
            [value for row in rows for value in row] + [StatusChoice.FAILED],
        )
        prefix = len(module) + 1
        return {msg_id[prefix:] for (msg_id,) in cursor.fetchall()}


def advance_versions(module: str, events: Sequence[tuple[str, str, int, str]]) -> set[str]:
    """Take ``(aggregate, subject, sequence, event id)`` in delivery order; return the ids of
    the events newer than what ``module`` holds (and than those before them), and move its
    versions forward. Three statements, however many events."""
    newest: dict[tuple[str, str], int] = {}
    for aggregate, subject, sequence, _ in events:
        newest[aggregate, subject] = max(sequence, newest.get((aggregate, subject), sequence))
    if not newest:
        return set()
    table = AppliedVersion._meta.db_table
    keys = list(newest)
    with connection.cursor() as cursor:
        # Make a row exist for every key, then lock them all: the versions read next can't
        # move under us, even for an aggregate this module has never seen.
        cursor.execute(
            f"INSERT INTO {table} (consumer, aggregate, subject, sequence) VALUES "
            + ", ".join(["(%s, %s, %s, -1)"] * len(keys))
            + " ON CONFLICT (consumer, aggregate, subject) DO NOTHING",
            [value for aggregate, subject in keys for value in (module, aggregate, subject)],
        )
    held = {
        (row.aggregate, row.subject): row.sequence
        for row in AppliedVersion.objects.select_for_update()
        .filter(consumer=module, subject__in={subject for _, subject in keys})
        .only("aggregate", "subject", "sequence")
        if (row.aggregate, row.subject) in newest
    }
    fresh = set()
    for aggregate, subject, sequence, event_id in events:
        if sequence > held[aggregate, subject]:
            fresh.add(event_id)
            held[aggregate, subject] = sequence
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (consumer, aggregate, subject, sequence) VALUES "
            + ", ".join(["(%s, %s, %s, %s)"] * len(keys))
            + " ON CONFLICT (consumer, aggregate, subject) DO UPDATE SET sequence = excluded.sequence"
            f" WHERE {table}.sequence < excluded.sequence",
            [
                value
                for (aggregate, subject) in keys
                for value in (module, aggregate, subject, newest[aggregate, subject])
            ],
        )
    return fresh


def forget_versions(module: str) -> int:
    """Let ``module`` apply every state event again (before a replay rebuilds its replicas)."""
    deleted, _ = AppliedVersion.objects.filter(consumer=module).delete()
    return deleted


def record_failure(module: str, envelope: Envelope, *, attempts: int, error: str) -> None:
    """Keep a failed delivery visible and retryable (the admin lists and retries these)."""
    headers = _headers(module, envelope) | {"error": error[:2000], "attempts": attempts}
    row, created = Received.objects.get_or_create(
        msg_id=inbox_id(module, envelope.id),
        defaults={"headers": headers, "body": envelope.to_dict(), "status": StatusChoice.FAILED, "retry": attempts},
    )
    if not created and row.status == StatusChoice.FAILED:
        Received.objects.filter(pk=row.pk).update(headers=headers, retry=row.retry + attempts)


def delete_old_received(*, older_than: timedelta) -> int:
    """Forget applied deliveries past retention (the window in which duplicates are caught)."""
    cutoff = timezone.now() - older_than
    deleted, _ = Received.objects.filter(status=StatusChoice.SUCCEEDED, added__lt=cutoff).delete()
    return deleted


def delete_received_of(*, routing_keys: Collection[str], before: datetime) -> int:
    """Forget the deliveries of these types that arrived before ``before``, applied or
    failed: for records that expire (notifications), whose copy in the inbox must go too."""
    deleted, _ = Received.objects.filter(headers__destination__in=list(routing_keys), added__lt=before).delete()
    return deleted


def _headers(module: str, envelope: Envelope) -> dict:
    return {
        "consumer": module,
        "destination": envelope.routing_key,
        "event_id": envelope.id,
        "correlation_id": envelope.correlation_id,
    }
