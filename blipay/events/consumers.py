"""The consumer runtime: modules react to events through the handlers they register.

A module lists its handlers in one explicit table in its ``handlers.py``
(``blipay.events.subscriptions``)::

    register_handlers("notifications", [
        Subscription(MemberSaved, member_contact_save, replayable=True),
        Subscription(BalanceChanged, balance_notify),
    ])

A handler receives the event's payload, decoded once into its dataclass, and its
``EventMeta``: ``def balance_notify(event: BalanceChanged, meta: EventMeta) -> None``.

Each consuming module reads its own durable queue ``blipay.<module>``. Every delivery runs
in one transaction with its inbox row: the handlers' writes and the record that they ran
commit together, and the message is acked only after that commit. A redelivered message
finds its inbox row and changes nothing; a state event older than what the module holds
is skipped. A failing handler is retried in place with backoff (which keeps the queue's
order), then the message is dead-lettered and the failure kept, retryable, in the inbox.
"""

import enum
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from kombu import Connection, Message
from kombu.mixins import ConsumerMixin

from blipay.events import control, inbox
from blipay.events.broker import (
    DEAD_LETTER_REASON_HEADER,
    REPLAY_HEADER,
    ConfirmingPublisher,
    connect,
    dead_letter_queue,
    module_queue,
    queue_name,
)
from blipay.events.context import caused_by
from blipay.events.envelope import Envelope
from blipay.events.errors import UnknownEventType
from blipay.events.registry import event_type
from blipay.events.relay import relay_pending
from blipay.events.subscriptions import Handler, consuming_modules, routing_keys, subscriptions_of
from blipay.observability import logs, tracing
from blipay.observability.metrics import CONSUMED, CONSUMER_LAG, DEAD_LETTERED, HANDLER_ERRORS, RETRIES

logger = logging.getLogger("blipay.events.consumers")


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


def deliver(module: str, envelope: Envelope, *, replay: bool = False) -> Outcome:
    """Apply one event to ``module``'s handlers, exactly once in effect (see deliver_many)."""
    return deliver_many(module, [envelope], replay=replay)[0]


def deliver_many(module: str, envelopes: Sequence[Envelope], *, replay: bool = False) -> list[Outcome]:
    """Apply events, in order, to ``module``'s handlers in one transaction with their inbox
    rows: all of it commits, or none. Returns each event's outcome.

    With ``replay`` the inbox is bypassed (a replay is a deliberate second delivery) and
    only replayable handlers run. Handler errors propagate, after the rollback.
    """
    handlers = _handlers(module, replay=replay)
    kinds = {envelope.routing_key: event_type(envelope.routing_key) for envelope in envelopes}
    with transaction.atomic():
        if replay:
            applying = list(envelopes)
        else:
            distinct = list({envelope.id: envelope for envelope in envelopes}.values())  # a repeat in the batch
            claimed = inbox.claim(module, distinct)
            applying = [envelope for envelope in distinct if envelope.id in claimed]
        # Side effects run only where the module is owned; a handover marker in the batch
        # moves ownership for the events after it.
        owning = replay or control.owns(module)
        states = [e for e in applying if kinds[e.routing_key].state]
        fresh = inbox.advance_versions(
            module, [(kinds[e.routing_key].aggregate, e.subject, e.sequence, e.id) for e in states]
        )
        stateless = {e.id for e in applying if not kinds[e.routing_key].state}
        for envelope in applying:
            if envelope.routing_key == control.ModuleHandover.TYPE.routing_key:
                owning = control.handover_apply(module, envelope)
                continue
            is_fresh = envelope.id in fresh or envelope.id in stateless
            with handling(module, envelope):
                running = [
                    handler
                    for handler, skip_stale, side_effect in handlers.get(envelope.routing_key, ())
                    if (is_fresh or not skip_stale) and (owning or not side_effect)
                ]
                if running:
                    payload, meta = kinds[envelope.routing_key].decode(envelope.data), envelope.meta
                    for handler in running:
                        handler(payload, meta)
        if not replay:
            control.advance_position(module, applying)
    applied = {e.id: (Outcome.APPLIED if e.id in fresh or e.id in stateless else Outcome.STALE) for e in applying}
    outcomes = [applied.get(envelope.id, Outcome.DUPLICATE) for envelope in envelopes]
    _count(module, envelopes, outcomes, replay=replay)
    return outcomes


@contextmanager
def handling(module: str, envelope: Envelope) -> Iterator[None]:
    """The context ``module``'s handlers run in for ``envelope``: a consumer span, child of
    the span that emitted the event (when tracing is on); the event as the cause of what
    they emit; and the event's ids on every log line they write."""
    if not tracing.enabled():
        with _caused_by_event(module, envelope, envelope.traceparent):
            yield
        return
    with (
        tracing.span(
            f"process {envelope.routing_key}",
            kind=tracing.CONSUMER,
            traceparent=envelope.traceparent,
            attributes={
                "messaging.operation.type": "process",
                "messaging.destination.name": queue_name(module),
                "messaging.message.id": envelope.id,
                "blipay.module": module,
            },
        ),
        _caused_by_event(module, envelope, tracing.current_traceparent()),
    ):
        yield


@contextmanager
def _caused_by_event(module: str, envelope: Envelope, traceparent: str | None) -> Iterator[None]:
    with (
        caused_by(correlation_id=envelope.correlation_id, causation_id=envelope.id, traceparent=traceparent),
        logs.bound(module=module, event_id=envelope.id, causation_id=envelope.causation_id),
    ):
        yield


def _count(module: str, envelopes: Sequence[Envelope], outcomes: list[Outcome], *, replay: bool) -> None:
    now = time.time()
    for envelope, outcome in zip(envelopes, outcomes, strict=True):
        if replay:
            CONSUMED.labels(module, envelope.routing_key, "replayed").inc()
            continue
        CONSUMED.labels(module, envelope.routing_key, outcome.value).inc()
        if outcome is Outcome.APPLIED:
            try:
                CONSUMER_LAG.labels(module).observe(max(0.0, now - datetime.fromisoformat(envelope.time).timestamp()))
            except ValueError:
                continue  # a time that isn't ISO 8601 (a hand-made message): no lag to tell


def _handlers(module: str, *, replay: bool) -> dict[str, list[tuple[Handler, bool, bool]]]:
    """routing key → (handler, skip_stale, is a side effect), in registration order."""
    table: dict[str, list[tuple[Handler, bool, bool]]] = {}
    for s in subscriptions_of(module):
        if s.replayable or not replay:
            table.setdefault(s.event_type.routing_key, []).append((s.handler, s.skip_stale, not s.replayable))
    return table


class ModuleConsumer(ConsumerMixin):
    """Reads ``blipay.<module>`` and delivers its messages; reconnects when the broker drops.

    Messages are applied in batches: whatever has arrived (up to ``CONSUMER_BATCH``) goes
    through ``deliver_many`` in one transaction, then is acked. If the batch fails, each
    message is delivered on its own, with retries and then the dead-letter queue, so one bad
    message never holds back the others.
    """

    def __init__(self, module: str, connection: Connection | None = None) -> None:
        self.module = module
        self.connection = connection or connect()
        self.queue = module_queue(module, routing_keys(module))
        options = settings.BLIPAY_EVENTS
        self.max_attempts = options["CONSUMER_MAX_ATTEMPTS"]
        self.retry_base = options["CONSUMER_RETRY_BASE_SECONDS"]
        self.prefetch = options["CONSUMER_PREFETCH"]
        self.batch_size = options["CONSUMER_BATCH"]
        self._batch: list[tuple[Message, Envelope]] = []

    def get_consumers(self, consumer_class, channel) -> list:  # noqa: ANN001 - kombu's signature
        return [consumer_class(queues=[self.queue], on_message=self.on_message, prefetch_count=self.prefetch)]

    def consume(self, limit: int | None = None, timeout: float | None = None, safety_interval: float = 1, **kwargs):  # noqa: ANN201
        """kombu's loop, but a short wait while a batch is open: a pause in the stream flushes it."""
        self._batch = []  # after a reconnect the broker redelivers whatever was not acked
        with self.consumer_context(**kwargs) as (connection, _, _):
            while not self.should_stop:
                try:
                    connection.drain_events(timeout=0.002 if self._batch else safety_interval)
                except TimeoutError:
                    if self._batch:
                        self.flush()
                    else:
                        connection.heartbeat_check()
                yield
            self.flush()

    def on_message(self, message: Message) -> None:
        try:
            envelope = Envelope.from_dict(json.loads(message.body))
            event_type(envelope.routing_key)
        except (ValueError, KeyError, TypeError, UnknownEventType) as exc:
            self._dead_letter_unreadable(message, reason=_unreadable_reason(exc))
            return
        if message.headers.get(REPLAY_HEADER):
            # A backfill addressed to this deployment: it rebuilds copies and causes no side
            # effect. Applied in its place in the stream, on its own.
            self.flush()
            deliver(self.module, envelope, replay=True)
            message.ack()
            return
        self._batch.append((message, envelope))
        if len(self._batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Apply the open batch; acks follow its commit."""
        batch, self._batch = self._batch, []
        if not batch:
            return
        close_old_connections()
        try:
            self.apply([envelope for _, envelope in batch])
        except Exception as exc:  # noqa: BLE001 - the batch is retried message by message
            with logs.bound(module=self.module):
                logger.warning("%s: a batch of %d failed (%r); delivering one by one", self.module, len(batch), exc)
            for message, envelope in batch:
                self._deliver_alone(message, envelope)
            return
        for message, _ in batch:
            message.ack()

    def apply(self, envelopes: list[Envelope]) -> None:
        """Apply a batch in one transaction (a benchmark swaps this to measure the inbox)."""
        deliver_many(self.module, envelopes)

    def _deliver_alone(self, message: Message, envelope: Envelope) -> None:
        with logs.bound(
            module=self.module,
            event_id=envelope.id,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.causation_id,
        ):
            self._deliver_with_retries(message, envelope)

    def _deliver_with_retries(self, message: Message, envelope: Envelope) -> None:
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                outcome = deliver(self.module, envelope)
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                error = f"{type(exc).__name__}: {exc}"
                HANDLER_ERRORS.labels(self.module, envelope.routing_key).inc()
                logger.warning(
                    "%s: %s %s failed (attempt %d): %s", self.module, envelope.type, envelope.id, attempt, error
                )
                if attempt < self.max_attempts:
                    RETRIES.labels(self.module, envelope.routing_key).inc()
                    time.sleep(self.retry_base * 2 ** (attempt - 1))
                continue
            logger.debug("%s: %s %s %s", self.module, envelope.type, envelope.id, outcome.value)
            message.ack()
            return
        self._dead_letter(message, envelope, error)

    def _dead_letter_unreadable(self, message: Message, *, reason: str) -> None:
        """A message no handler can read (not JSON, not an envelope, a type or version this
        deployment doesn't know) goes to the dead-letter queue as it came, with the reason
        in its ``x-blipay-dead-letter-reason`` header; the consumer moves on. If that
        publish fails, the broker's dead-lettering still takes it, without the reason."""
        with logs.bound(module=self.module):
            logger.error("%s: unreadable message %s dead-lettered: %s", self.module, message.properties, reason)
        DEAD_LETTERED.labels(self.module, "unreadable").inc()
        try:
            with connect() as broker:
                broker.Producer().publish(
                    message.body,
                    exchange="",
                    routing_key=dead_letter_queue(self.module).name,
                    declare=[dead_letter_queue(self.module)],
                    content_type=message.content_type or "application/json",
                    content_encoding=message.content_encoding or "utf-8",
                    headers={
                        **(message.headers or {}),
                        DEAD_LETTER_REASON_HEADER: reason,
                        "x-blipay-consumer": self.module,
                    },
                    message_id=message.properties.get("message_id"),
                    delivery_mode=2,
                )
        except Exception:  # any failure to publish: the broker dead-letters it, without the reason
            logger.exception("%s: could not dead-letter an unreadable message with its reason", self.module)
            message.reject(requeue=False)
            return
        message.ack()

    def _dead_letter(self, message: Message, envelope: Envelope, error: str) -> None:
        try:
            inbox.record_failure(self.module, envelope, attempts=self.max_attempts, error=error)
        except DatabaseError:
            # The database is what failed: keep the message on the queue for a later try.
            logger.exception("%s: could not record the failure of %s; requeued", self.module, envelope.id)
            time.sleep(self.retry_base * 2**self.max_attempts)
            message.requeue()
            return
        logger.error(
            "%s: %s %s dead-lettered after %d attempts", self.module, envelope.type, envelope.id, self.max_attempts
        )
        DEAD_LETTERED.labels(self.module, "handler_failed").inc()
        message.reject(requeue=False)


def _unreadable_reason(exc: Exception) -> str:
    if isinstance(exc, UnknownEventType):
        return f"unknown event type or version: {exc}"
    if isinstance(exc, KeyError):
        return f"not an event envelope: no {exc} field"
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return f"not JSON: {exc}"
    return f"not an event envelope: {type(exc).__name__}: {exc}"[:500]


@contextmanager
def consumers_in_threads(modules: Sequence[str] | None = None) -> Iterator[list[ModuleConsumer]]:
    """Run consumers (every consuming module's by default) in threads of this process
    while the block runs; the embedded broker's queues are only visible in-process."""
    consumers = [ModuleConsumer(module) for module in (consuming_modules() if modules is None else modules)]
    threads = [
        threading.Thread(target=_run, args=(consumer,), daemon=True, name=f"consume-{consumer.module}")
        for consumer in consumers
    ]
    for thread in threads:
        thread.start()
    try:
        yield consumers
    finally:
        for consumer in consumers:
            consumer.should_stop = True
        for thread in threads:
            thread.join(10)


def _run(consumer: ModuleConsumer) -> None:
    try:
        consumer.run()
    finally:
        connection.close()


def drain(*, rounds: int = 50) -> int:
    """Relay what is pending, then let every consuming module apply what reached its queue,
    in this thread, until nothing moves (what a running Blipay does, run to completion; for
    commands and tests). Returns how many deliveries were made."""
    delivered = 0
    publisher = ConfirmingPublisher()
    try:
        for _ in range(rounds):
            moved = relay_pending(publisher)
            with connect() as broker:
                for module in consuming_modules():
                    consumer = ModuleConsumer(module, connection=broker)
                    queue = consumer.queue(broker.channel())
                    while (message := queue.get()) is not None:
                        consumer.on_message(message)
                        moved += 1
                        delivered += 1
                    consumer.flush()
            if not moved:
                return delivered
    finally:
        publisher.close()
    raise RuntimeError(f"events still flowing after {rounds} rounds: a handler keeps emitting")
