"""The consumer runtime: modules react to events through the handlers they register.

A module lists its handlers in one explicit table in its ``handlers.py``
(``blipay.events.subscriptions``)::

    register_handlers("notifications", [
        Subscription(MemberSaved, contact_save, replayable=True),
        Subscription(BalanceChanged, balance_notice_send),
    ])

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

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from kombu import Connection, Message
from kombu.mixins import ConsumerMixin

from blipay.events import inbox
from blipay.events.broker import ConfirmingPublisher, connect, module_queue
from blipay.events.context import caused_by
from blipay.events.envelope import Envelope
from blipay.events.errors import UnknownEventType
from blipay.events.registry import event_type
from blipay.events.relay import relay_pending
from blipay.events.subscriptions import consuming_modules, routing_keys, subscriptions_of

logger = logging.getLogger("blipay.events.consumers")


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


def deliver(module: str, envelope: Envelope, *, replay: bool = False) -> Outcome:
    """Apply one event to ``module``'s handlers, exactly once in effect.

    With ``replay`` the inbox is bypassed (a replay is a deliberate second delivery) and
    only replayable handlers run. Handler errors propagate, after the rollback.
    """
    kind = event_type(envelope.routing_key)
    subscriptions = [
        s
        for s in subscriptions_of(module)
        if s.event_type.routing_key == envelope.routing_key and (s.replayable or not replay)
    ]
    with transaction.atomic():
        if not replay and not inbox.claim(module, envelope):
            return Outcome.DUPLICATE
        fresh = not kind.state or inbox.advance_version(module, kind.aggregate, envelope.subject, envelope.sequence)
        handlers = [s.handler for s in subscriptions if fresh or not s.skip_stale]
        with caused_by(
            correlation_id=envelope.correlation_id, causation_id=envelope.id, traceparent=envelope.traceparent
        ):
            for handler in handlers:
                handler(envelope)
    return Outcome.APPLIED if fresh else Outcome.STALE


class ModuleConsumer(ConsumerMixin):
    """Reads ``blipay.<module>`` and delivers each message; reconnects when the broker drops."""

    def __init__(self, module: str, connection: Connection | None = None) -> None:
        self.module = module
        self.connection = connection or connect()
        self.queue = module_queue(module, routing_keys(module))
        options = settings.BLIPAY_EVENTS
        self.max_attempts = options["CONSUMER_MAX_ATTEMPTS"]
        self.retry_base = options["CONSUMER_RETRY_BASE_SECONDS"]
        self.prefetch = options["CONSUMER_PREFETCH"]

    def get_consumers(self, consumer_class, channel) -> list:  # noqa: ANN001 - kombu's signature
        return [consumer_class(queues=[self.queue], on_message=self.on_message, prefetch_count=self.prefetch)]

    def on_message(self, message: Message) -> None:
        close_old_connections()
        try:
            envelope = Envelope.from_dict(json.loads(message.body))
            event_type(envelope.routing_key)
        except (ValueError, KeyError, TypeError, UnknownEventType) as exc:
            logger.error("%s: unreadable message %s dead-lettered: %r", self.module, message.properties, exc)
            message.reject(requeue=False)
            return
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                outcome = deliver(self.module, envelope)
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                error = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "%s: %s %s failed (attempt %d): %s", self.module, envelope.type, envelope.id, attempt, error
                )
                if attempt < self.max_attempts:
                    time.sleep(self.retry_base * 2 ** (attempt - 1))
                continue
            logger.debug("%s: %s %s %s", self.module, envelope.type, envelope.id, outcome.value)
            message.ack()
            return
        self._dead_letter(message, envelope, error)

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
        message.reject(requeue=False)


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
            if not moved:
                return delivered
    finally:
        publisher.close()
    raise RuntimeError(f"events still flowing after {rounds} rounds: a handler keeps emitting")
