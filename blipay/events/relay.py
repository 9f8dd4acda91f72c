"""The relay: moves committed outbox rows to the broker, in commit order, at least once.

A pass claims up to a batch of pending rows (``SELECT … FOR UPDATE SKIP LOCKED``, oldest
first), publishes them with publisher confirms, and marks them sent in one UPDATE, all in
one transaction. The UPDATE runs while the broker confirms (rows it refuses are taken
back before the commit) and the commit comes only after every confirm, so no row is sent
in the database's eyes before the broker has it. If the process dies before the commit
the rows are still pending and go out again: at most one batch is published twice, and
consumers absorb it.

Order: relays take turns, batch by batch (a PostgreSQL advisory lock; SQLite serialises
writers by itself), so the rows of one aggregate can't be sent by two relays at once and
overtake each other. An aggregate's events are committed in sequence order because its
writers lock the aggregate's row, so "oldest ``added`` first" is commit order for it.
"""

import functools
import logging
import threading
import time
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from opentelemetry.trace import Status, StatusCode

from blipay.db import db_values
from blipay.events.broker import ConfirmingPublisher, OutgoingMessage
from blipay.events.errors import BrokerUnavailable
from blipay.events.models import RelayKick
from blipay.events.registry import event_types
from blipay.observability import tracing
from blipay.observability.metrics import RELAY_CONFIRM, RELAY_EVENTS, RELAY_FAILURES

logger = logging.getLogger("blipay.events.relay")

_RELAY_LOCK_KEY = 0x626C6970  # "blip": the advisory-lock id all relays take turns on


def relay_batch(publisher: ConfirmingPublisher, *, batch_size: int | None = None) -> int:
    """Publish one batch of pending rows; return how many rows it settled (sent or refused).

    Raises BrokerUnavailable, leaving every row of the batch pending, when the broker
    can't be reached or doesn't confirm.
    """
    batch_size = batch_size or settings.BLIPAY_EVENTS["RELAY_BATCH_SIZE"]
    with transaction.atomic():
        take_turn(to_claim=True)
        rows = _claim(batch_size)
        if not rows:
            return 0

        def mark_sent() -> None:
            # Runs while the broker confirms; nobody sees it before the commit, which comes
            # only after every confirm (a broker failure raises and rolls it back).
            _mark_sent([row_id for row_id, _ in rows])

        messages = [message for _, message in rows]
        spans = _publish_spans(messages) if tracing.enabled() else None
        started = time.perf_counter()
        try:
            refused = publisher.publish(messages, meanwhile=mark_sent)
        except BrokerUnavailable as exc:
            RELAY_FAILURES.inc()
            _end_spans(spans, refused=set(), error=exc)
            raise
        RELAY_CONFIRM.observe(time.perf_counter() - started)
        _end_spans(spans, refused=refused, error=None)
        if refused:
            _count_refusals([rows[index][0] for index in refused])
    RELAY_EVENTS.labels("confirmed").inc(len(rows) - len(refused))
    if refused:
        RELAY_EVENTS.labels("refused").inc(len(refused))
    return len(rows)


def _publish_spans(messages: list[OutgoingMessage]) -> list:
    """One producer span per message, child of the span that emitted its event (the
    envelope's traceparent), from the publish to the broker's confirm."""
    return [
        tracing.start_span(
            f"publish {message.routing_key}",
            kind=tracing.PRODUCER,
            traceparent=message.headers.get("traceparent"),
            attributes={
                "messaging.system": "rabbitmq" if settings.BROKER_URL.startswith("amqp") else "kombu.memory",
                "messaging.operation.type": "publish",
                "messaging.destination.name": settings.BLIPAY_EVENTS["EXCHANGE"],
                "messaging.rabbitmq.destination.routing_key": message.routing_key,
                "messaging.message.id": message.id,
            },
        )
        for message in messages
    ]


def _end_spans(spans: list | None, *, refused: set[int], error: Exception | None) -> None:
    if not spans:
        return
    for index, span in enumerate(spans):
        if error is not None:
            span.record_exception(error)
        if error is not None or index in refused:
            span.set_status(Status(StatusCode.ERROR, "broker unavailable" if error else "refused"))
        span.end()


def _claim(batch_size: int) -> list[tuple[object, OutgoingMessage]]:
    """Lock the oldest pending rows; return each row's id and the message that carries it.

    The envelope is read as the text the database holds and sent as it is: the database
    extracts the few fields the routing key and headers need, so the relay neither parses
    nor serialises an envelope (a third of its time per row, measured with `make bench`).
    """
    sql, params = _claim_sql(connection.vendor, batch_size)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    to_python = Published._meta.pk.to_python  # a UUID on every database, as the ORM reads it
    return [
        (
            to_python(row_id),
            OutgoingMessage.carrying(
                envelope,
                event_id=event_id,
                routing_key=key,
                correlation_id=correlation_id,
                subject=subject,
                sequence=sequence,
                traceparent=traceparent,
            ),
        )
        for row_id, envelope, event_id, key, correlation_id, subject, sequence, traceparent in rows
    ]


@functools.cache
def _claim_sql(vendor: str, batch_size: int) -> tuple[str, tuple]:
    """The claim's statement, built by the ORM once per database vendor and batch size:
    compiling it (its five JSON extractions) cost 0.7 ms of CPU, five times what running it
    costs, and under load a pass carries the events of one or two payments. ``vendor`` is
    only the cache key: the ORM compiles for ``connection``, inside the claim's transaction."""
    query = (
        Published.objects.filter(status=StatusChoice.SCHEDULE)
        .order_by("added")
        .select_for_update(skip_locked=True)
        .annotate(
            envelope=Cast("body", TextField()),
            event_id=KT("body__id"),
            correlation_id=KT("body__correlation_id"),
            subject=KT("body__subject"),
            sequence=KT("body__sequence"),
            traceparent=KT("body__traceparent"),
        )
        # ``destination`` is the routing key: emit() stores it so.
        .values_list(
            "id", "envelope", "event_id", "destination", "correlation_id", "subject", "sequence", "traceparent"
        )[:batch_size]
    ).query
    return query.sql_with_params()


def _mark_sent(row_ids: list) -> None:
    """One UPDATE by primary key, written by hand for the same reason as the claim."""
    table = connection.ops.quote_name(Published._meta.db_table)
    placeholders = ", ".join(["%s"] * len(row_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, retry = retry + 1 WHERE id IN ({placeholders})",
            [int(StatusChoice.SUCCEEDED), *(db_values(Published, {"id": row_id})[0] for row_id in row_ids)],
        )


def relay_kick_taken() -> None:
    """The relay task calls this before its last pass: commits from now on queue a kick again
    (``blipay.events.outbox`` sets the flag when it queues one)."""
    RelayKick.objects.filter(pk=1).update(pending=False)


def relay_pending(publisher: ConfirmingPublisher, *, batch_size: int | None = None) -> int:
    """Relay batches until the outbox has no pending row left; return how many were settled."""
    batch_size = batch_size or settings.BLIPAY_EVENTS["RELAY_BATCH_SIZE"]
    total = 0
    while True:
        settled = relay_batch(publisher, batch_size=batch_size)
        total += settled
        if settled < batch_size:
            return total


def take_turn(*, to_claim: bool = False) -> None:
    """Wait for the relays' turn and hold it until the transaction ends: no relay publishes
    meanwhile (``events migrate-queues`` holds it while it moves queues).

    ``to_claim``: the transaction goes on to claim, so on PostgreSQL the same statement turns
    sorts off until it ends. The outbox is empty most of the time, so the statistics call
    pending rows rare and the planner fetches them all through the package's ``status``
    index and sorts them. After an outage's backlog that is a sort of every pending row per
    batch (drain fell from 9,100 to 2,000 events/s at 100,000 pending); without sorts it
    walks the ordered ``published_pending_added`` index and stops at the batch.
    """
    if connection.vendor == "postgresql":
        no_sorts = ", set_config('enable_sort', 'off', true)" if to_claim else ""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock(%s){no_sorts}", [_RELAY_LOCK_KEY])


def _count_refusals(row_ids: list) -> None:
    """Take back the mark of rows the broker refused: pending again, or failed for good
    once they have been refused ``RELAY_MAX_ATTEMPTS`` times (``retry`` counts attempts)."""
    max_attempts = settings.BLIPAY_EVENTS["RELAY_MAX_ATTEMPTS"]
    logger.warning("broker refused %d event(s): %s", len(row_ids), row_ids[:10])
    rows = Published.objects.filter(id__in=row_ids)
    rows.filter(retry__gte=max_attempts).update(status=StatusChoice.FAILED)
    rows.filter(retry__lt=max_attempts).update(status=StatusChoice.SCHEDULE)


def retry_failed(row_ids: list) -> int:
    """Put failed outbox rows back in the queue (the admin's retry action)."""
    return Published.objects.filter(id__in=row_ids, status=StatusChoice.FAILED).update(
        status=StatusChoice.SCHEDULE, retry=0
    )


def delete_old_sent(*, older_than: timedelta | None = None) -> int:
    """Delete sent rows past the retention period, keeping the newest state event of
    every aggregate, so a replay can still rebuild every replica from scratch.

    Pending and failed rows are never deleted: an event is confirmed or visibly failed.
    """
    older_than = older_than or timedelta(days=settings.BLIPAY_EVENTS["OUTBOX_RETENTION_DAYS"])
    cutoff = timezone.now() - older_than
    old_sent = Published.objects.filter(status=StatusChoice.SUCCEEDED, added__lt=cutoff)
    state_keys = [t.routing_key for t in event_types() if t.state]
    deleted, _ = old_sent.exclude(destination__in=state_keys).delete()
    newer = Published.objects.filter(
        status=StatusChoice.SUCCEEDED,
        destination=OuterRef("destination"),
        body__subject=OuterRef("body__subject"),
        added__gt=OuterRef("added"),
    )
    deleted_state, _ = old_sent.filter(destination__in=state_keys).filter(Exists(newer)).delete()
    return deleted + deleted_state


def delete_sent_of(*, routing_keys: Collection[str], before: datetime) -> int:
    """Delete sent rows of these types added before ``before``, the newest state of each
    subject included: for records that expire (notifications), whose copy in the outbox
    must go with them. Pending and failed rows stay, as in ``delete_old_sent``."""
    rows = Published.objects.filter(status=StatusChoice.SUCCEEDED, destination__in=routing_keys, added__lt=before)
    deleted, _ = rows.delete()
    return deleted


_process_publisher: ConfirmingPublisher | None = None
_process_lock = threading.Lock()


def relay_until_quiet(*, linger: float, poll: float) -> int:
    """Relay what is pending, and what later commits add, until nothing more comes for
    ``linger`` seconds; then take the kick and relay once more. Returns how many rows it settled.

    Meanwhile the kick flag still says a kick waits, so committers queue none: under load
    one task sends the events of many commits, where each commit cost a Celery round trip
    (the flag's UPDATE and a publish in the request, a task in the worker). A commit that
    saw the flag set is sent by the last pass, which follows the flag's clearing.
    """
    settled = 0
    quiet_since = time.monotonic()
    try:
        while linger > 0:
            moved = relay_in_process() if any_pending() else 0
            settled += moved
            if moved:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= linger:
                break
            # After a busy pass too: what it left was not a full batch, and passing again at
            # once would send each commit's few events in a batch of their own.
            time.sleep(poll)
    finally:
        # Also when the broker fails: the next commit kicks again rather than waiting for
        # the beat's sweep behind a flag nobody will clear.
        relay_kick_taken()
    return settled + relay_in_process()


def any_pending() -> bool:
    """Is any row pending? One indexed read outside a transaction: for the lingering task's
    looks, which often find nothing (a pass takes a transaction, the relays' turn and the
    claim), and for whoever waits for the outbox to drain."""
    with connection.cursor() as cursor:
        # The literal matches the partial index published_pending_added (WHERE status = 1).
        cursor.execute(f"SELECT 1 FROM {Published._meta.db_table} WHERE status = {int(StatusChoice.SCHEDULE)} LIMIT 1")
        return cursor.fetchone() is not None


def relay_in_process() -> int:
    """Relay everything pending with this process's publisher (Celery tasks and commands).

    A lock keeps threads of one process (the embedded server) from sharing the publisher.
    """
    global _process_publisher
    with _process_lock:
        if _process_publisher is None:
            _process_publisher = ConfirmingPublisher()
        return relay_pending(_process_publisher)
