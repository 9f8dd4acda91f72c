"""The inbox: what each consuming module has already applied, written in the handler's
transaction so that an effect and its record commit together or not at all.

Rows live in django-outbox-pattern's ``received`` table, one per (module, event):
``msg_id`` is ``<module>:<event id>`` because every module applies an event on its own.
"""

import json
import uuid
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received

from blipay.events.envelope import Envelope
from blipay.events.models import AppliedVersion


def inbox_id(module: str, event_id: str) -> str:
    return f"{module}:{event_id}"


def claim(module: str, envelope: Envelope) -> bool:
    """Record that ``module`` applies ``envelope``; False if it already has.

    A row left failed by an earlier attempt is claimed again. Call inside the handler's
    transaction: a concurrent duplicate waits on the unique ``msg_id`` and then sees it taken.
    """
    now = timezone.now()
    pk = Received._meta.pk.get_db_prep_value(uuid.uuid4(), connection)
    added = Received._meta.get_field("added").get_db_prep_value(now, connection)
    expires = Received._meta.get_field("expires_at").get_db_prep_value(now + timedelta(days=1), connection)
    headers = json.dumps(_headers(module, envelope))
    with connection.cursor() as cursor:
        # One round trip: insert, or take back a failed row; RETURNING says whether we won.
        cursor.execute(
            "INSERT INTO received (id, msg_id, headers, body, added, expires_at, retry, status)"
            " VALUES (%s, %s, %s, %s, %s, %s, 0, %s)"
            " ON CONFLICT (msg_id) DO UPDATE SET status = excluded.status"
            " WHERE received.status = %s RETURNING id",
            [
                pk,
                inbox_id(module, envelope.id),
                headers,
                json.dumps(envelope.to_dict()),
                added,
                expires,
                StatusChoice.SUCCEEDED,
                StatusChoice.FAILED,
            ],
        )
        return cursor.fetchone() is not None


def advance_version(module: str, aggregate: str, subject: str, sequence: int) -> bool:
    """Move ``module``'s version of the aggregate to ``sequence``; False if it holds that or newer."""
    table = AppliedVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (consumer, aggregate, subject, sequence) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (consumer, aggregate, subject) DO UPDATE SET sequence = excluded.sequence"
            f" WHERE {table}.sequence < excluded.sequence RETURNING sequence",
            [module, aggregate, subject, sequence],
        )
        return cursor.fetchone() is not None


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


def _headers(module: str, envelope: Envelope) -> dict:
    return {
        "consumer": module,
        "destination": envelope.routing_key,
        "event_id": envelope.id,
        "correlation_id": envelope.correlation_id,
    }
