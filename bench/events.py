"""The bench's own event type and the outbox rows it is carried in.

``bench.saved`` is a state event shaped like Blipay's (a member's wallet after a change).
The same envelopes go to our relay and to the anchor; only the row's ``destination``
differs: ours holds the routing key, the anchor's a STOMP destination into the same
exchange with the same routing key.
"""

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.headers import get_message_headers
from django_outbox_pattern.models import Published

from blipay.events.envelope import Envelope
from blipay.events.registry import event


@event(
    name="bench.saved",
    version=1,
    source="bench",
    description="A wallet's state after a change; emitted only by `make bench`.",
    schema={
        "type": "object",
        "properties": {
            "member_id": {"type": "string"},
            "name": {"type": "string", "minLength": 1},
            "balance": {"type": "integer"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "tier": {"type": "string"},
        },
        "required": ["member_id", "name", "balance", "currency"],
        "additionalProperties": False,
    },
)
@dataclass(frozen=True, kw_only=True)
class BenchSaved:
    member_id: str
    name: str
    balance: int
    currency: str
    tier: str = ""


SUBJECTS = 1000  # aggregates the events are spread over; event n is version n // SUBJECTS + 1 of one
ANCHOR_DESTINATION = f"/exchange/{settings.BLIPAY_EVENTS['EXCHANGE']}/{BenchSaved.TYPE.name}"


def subject_of(n: int) -> str:
    return f"wallet-{n % SUBJECTS:05d}"


def data_of(n: int) -> dict:
    return {
        "member_id": f"member-{n % SUBJECTS:05d}",
        "name": f"Member {n % SUBJECTS}",
        "balance": 100_000 + n,
        "currency": "IDR",
        "tier": "gold",
    }


def envelope(n: int) -> Envelope:
    """The ``n``-th event of a run, as ``emit()`` would have built it."""
    return Envelope(
        id=str(uuid.uuid4()),
        type=BenchSaved.TYPE.name,
        version=BenchSaved.TYPE.version,
        source=f"blipay.{BenchSaved.TYPE.source}",
        subject=subject_of(n),
        sequence=n // SUBJECTS + 1,
        time=timezone.now().isoformat(),
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        traceparent=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
        data=data_of(n),
    )


def anchor_row(event: Envelope, *, status: int = StatusChoice.SCHEDULE) -> Published:
    """The unsaved row django-outbox-pattern's own producer API makes for ``event``.

    ``persistent: true`` makes RabbitMQ's STOMP adapter store the message as our relay's
    (delivery mode 2), so both relays make the broker do the same work.
    """
    headers = {"dop-correlation-id": event.correlation_id, "persistent": "true"}
    return _unsaved(event, ANCHOR_DESTINATION, headers, status)


def our_row(event: Envelope, *, status: int = StatusChoice.SCHEDULE) -> Published:
    """The unsaved row ``emit()`` makes for ``event``."""
    return _unsaved(event, event.type, {"dop-correlation-id": event.correlation_id}, status)


def _unsaved(event: Envelope, destination: str, headers: dict, status: int) -> Published:
    return Published(
        id=event.id,
        destination=destination,
        version=f"v{event.version}",
        body=event.to_dict(),
        headers=headers,
        status=status,
    )


def insert(rows: Iterable[Published]) -> None:
    """Insert unsaved rows in bulk, as ``Published.save()`` would have stored each of them:
    the version appended to the destination, the library's headers merged in."""

    def as_saved(row: Published) -> Published:
        row.destination = f"{row.destination}.{row.version}"
        row.headers = get_message_headers(row)
        return row

    Published.objects.bulk_create((as_saved(row) for row in rows), batch_size=1000)


def copy_rows(times: int) -> None:
    """Add ``times`` copies of every outbox row, each with a fresh id (a large table, fast)."""
    if times < 1:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO published (id, version, destination, body, added, expires_at, retry, status, headers)"
            " SELECT md5(id::text || c)::uuid, version, destination,"
            " jsonb_set(body, '{id}', to_jsonb(md5(id::text || c)::uuid::text)),"
            " added, expires_at, retry, status, headers FROM published CROSS JOIN generate_series(1, %s) c",
            [times],
        )


def clear_outbox() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE published")


def vacuum_outbox() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE published")


def pending() -> int:
    return Published.objects.filter(status=StatusChoice.SCHEDULE).count()


def release() -> float:
    """Make the hidden (failed) rows pending in one UPDATE; return when, on ``perf_counter``."""
    Published.objects.filter(status=StatusChoice.FAILED).update(status=StatusChoice.SCHEDULE)
    return time.perf_counter()
