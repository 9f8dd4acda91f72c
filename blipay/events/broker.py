"""The message broker as the event backbone sees it: the exchange, the queues, a publisher.

On RabbitMQ (``amqp://``) publishing uses publisher confirms, in batches: publish a whole
batch, then wait until the broker has acknowledged every message of it. On the embedded
in-process transport (``memory://``) a publish is done when the call returns.
"""

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from kombu import Connection, Exchange, Producer, Queue, binding
from kombu.exceptions import OperationalError

from blipay.events.errors import BrokerUnavailable
from blipay.events.registry import routing_key
from blipay.events.subscriptions import consuming_modules, routing_keys

logger = logging.getLogger("blipay.events.broker")

EXCHANGE = Exchange(settings.BLIPAY_EVENTS["EXCHANGE"], type="topic", durable=True)


def connect(url: str | None = None) -> Connection:
    """A connection to the broker; with kombu's failover list (``amqp://a;amqp://b``) it
    tries the nodes in turn (see ``ensure_connected``)."""
    url = url or settings.BROKER_URL
    options: dict[str, Any] = {}
    if url.startswith("memory://"):
        # The in-process transport polls its queues; the default second is a second of lag.
        options["polling_interval"] = 0.01
    return Connection(url, connect_timeout=5, transport_options=options)


def ensure_connected(connection: Connection) -> None:
    """Connect now, trying each node of a failover list once, without waiting between them;
    raise (kombu's OperationalError) if none answers. kombu moves to the next node only
    between retries, so ``max_retries=0`` would try the first node alone, forever."""
    connection.ensure_connection(max_retries=max(len(connection.alt), 1) - 1, interval_start=0)


def declare_topology(channel: Any) -> None:
    """The exchange, and each consuming module's queue (bound to what it handles) and
    dead-letter queue: events published before a module's consumer first starts wait for it."""
    EXCHANGE(channel).declare()
    for module in consuming_modules():
        dead_letter_queue(module)(channel).declare()
        module_queue(module, routing_keys(module))(channel).declare()


# A message with this header is a replay (a backfill): only replayable handlers apply it.
REPLAY_HEADER = "x-blipay-replay"
# Why a consumer dead-lettered a message it could not read.
DEAD_LETTER_REASON_HEADER = "x-blipay-dead-letter-reason"


def queue_name(module: str, *, deployment: str | None = None) -> str:
    """``blipay.<module>`` for the monolith, ``blipay.service.<service>.<module>`` for an
    extracted service: each deployment reads its own copy of the stream."""
    deployment = deployment or settings.BLIPAY_DEPLOYMENT
    prefix = "blipay" if deployment == "monolith" else f"blipay.service.{deployment}"
    return f"{prefix}.{module}"


def module_queue(module: str, routing_keys: Sequence[str], *, queue_type: str | None = None) -> Queue:
    """The durable queue this deployment's ``module`` reads, bound to the routing keys it
    handles. On RabbitMQ a message the module rejects moves to ``<queue>.dead``.
    ``queue_type`` defaults to ``BLIPAY_QUEUE_TYPE``.
    """
    return Queue(
        queue_name(module),
        exchange=EXCHANGE,
        bindings=[binding(EXCHANGE, routing_key=key) for key in routing_keys],
        durable=True,
        queue_arguments=queue_arguments(queue_type, dead_letters_to=f"{queue_name(module)}.dead"),
    )


def dead_letter_queue(module: str, *, queue_type: str | None = None) -> Queue:
    name = f"{queue_name(module)}.dead"
    return Queue(
        name, exchange=Exchange(""), routing_key=name, durable=True, queue_arguments=queue_arguments(queue_type)
    )


def queue_arguments(queue_type: str | None = None, *, dead_letters_to: str | None = None) -> dict[str, Any]:
    """The arguments of a module's queue (which dead-letters to ``dead_letters_to``) or of a
    dead-letter queue. Every declaration of those queues goes through here: RabbitMQ refuses
    one whose arguments differ from the queue's (``PRECONDITION_FAILED``)."""
    quorum = (queue_type or settings.BLIPAY_EVENTS["QUEUE_TYPE"]) == "quorum"
    arguments: dict[str, Any] = {"x-queue-type": "quorum"} if quorum else {}
    if dead_letters_to is not None:
        arguments |= {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letters_to}
        if quorum:
            arguments |= {
                # A backstop against a message that kills every consumer it reaches; a
                # dead-letter queue has none: past the limit, without a target, it would drop.
                "x-delivery-limit": settings.BLIPAY_EVENTS["QUEUE_DELIVERY_LIMIT"],
                # Kept in this queue until the dead-letter queue has confirmed it (RabbitMQ's
                # default for quorum queues drops it if that fails); needs reject-publish.
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            }
    return arguments


CONTENT_TYPE, CONTENT_ENCODING = "application/json", "utf-8"


@dataclass(frozen=True)
class OutgoingMessage:
    id: str
    routing_key: str
    body: str
    correlation_id: str
    headers: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        """Its AMQP properties besides the content type, encoding and headers."""
        return {
            "message_id": self.id,
            "correlation_id": self.correlation_id,
            "type": self.routing_key,
            "delivery_mode": 2,
        }

    @classmethod
    def carrying(
        cls,
        body: str,
        *,
        event_id: object,
        routing_key: str,
        correlation_id: str,
        subject: str,
        sequence: int | str,
        traceparent: str | None,
    ) -> "OutgoingMessage":
        """The message for an envelope already serialised as ``body``. The relay passes the
        fields the database extracted from the stored envelope, so it never parses one."""
        return cls(
            id=str(event_id),
            routing_key=routing_key,
            body=body,
            correlation_id=correlation_id,
            headers={"subject": subject, "sequence": int(sequence), "traceparent": traceparent or ""},
        )

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> "OutgoingMessage":
        """The message for an envelope in hand (tests, the bench): the relay's constructor."""
        return cls.carrying(
            json.dumps(envelope, separators=(",", ":")),
            event_id=envelope["id"],
            routing_key=routing_key(envelope["type"], envelope["version"]),
            correlation_id=envelope["correlation_id"],
            subject=envelope["subject"],
            sequence=envelope["sequence"],
            traceparent=envelope.get("traceparent"),
        )


class ConfirmingPublisher:
    """Publishes batches to ``blipay.events``; ``publish`` returns once the broker has them.

    Not thread-safe: one per thread or process (``blipay.events.relay`` keeps one per process).
    After a failure it backs off exponentially before it tries the broker again.
    """

    def __init__(self, url: str | None = None, *, confirm_timeout: float | None = None) -> None:
        self._url = url
        self._confirm_timeout = confirm_timeout or settings.BLIPAY_EVENTS["RELAY_CONFIRM_TIMEOUT"]
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._confirms = False
        self._next_tag = 1
        self._unconfirmed: set[int] = set()
        self._nacked: set[int] = set()
        self._failures = 0
        self._retry_at = 0.0

    def publish(self, messages: Sequence[OutgoingMessage], *, meanwhile: Callable[[], None] | None = None) -> set[int]:
        """Publish ``messages``; return the indexes of those the broker refused (nacked).

        ``meanwhile`` runs once the batch is written and before the confirms are awaited:
        the relay marks the batch in its (uncommitted) transaction while the broker stores
        and confirms it. Raises BrokerUnavailable when the broker can't be reached or
        doesn't confirm in time; then no message of the batch may be taken as delivered.
        """
        if not messages:
            return set()
        if time.monotonic() < self._retry_at:
            raise BrokerUnavailable(f"broker failed {self._failures} time(s); backing off")
        try:
            producer = self._ensure_producer()
            first = self._next_tag
            if self._confirms:
                self._write_confirmed(producer.channel, messages)
            else:
                for message in messages:
                    producer.publish(
                        message.body,
                        exchange=EXCHANGE,
                        routing_key=message.routing_key,
                        content_type=CONTENT_TYPE,
                        content_encoding=CONTENT_ENCODING,
                        headers=message.headers,
                        retry=False,
                        **message.properties,
                    )
            try:
                if meanwhile is not None:
                    meanwhile()
            finally:
                refused = self._await_confirms(first, len(messages)) if self._confirms else set()
        except BrokerUnavailable:
            self._fail()
            raise
        except (OperationalError, OSError, *self._errors()) as exc:
            self._fail()
            raise BrokerUnavailable(f"publishing failed: {exc!r}") from exc
        self._failures = 0
        return refused

    def _write_confirmed(self, channel: Any, messages: Sequence[OutgoingMessage]) -> None:
        """Write a batch on the py-amqp channel itself: kombu's per-message layer above it
        took a tenth of the relay's time (``make bench``) and does nothing more here."""
        exchange = EXCHANGE.name
        for message in messages:
            # Registered before the publish: py-amqp may read acks while it writes.
            self._unconfirmed.add(self._next_tag)
            self._next_tag += 1
            channel.basic_publish(
                channel.prepare_message(
                    message.body,
                    content_type=CONTENT_TYPE,
                    content_encoding=CONTENT_ENCODING,
                    headers=message.headers,
                    properties=message.properties,
                ),
                exchange=exchange,
                routing_key=message.routing_key,
            )

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                logger.debug("closing a broken broker connection failed", exc_info=True)
        self._connection = None
        self._producer = None

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self._connection is None:
            return ()
        return tuple(self._connection.connection_errors) + tuple(self._connection.channel_errors)

    def _ensure_producer(self) -> Producer:
        if self._producer is not None:
            return self._producer
        connection = connect(self._url)
        self._connection = connection
        ensure_connected(connection)
        channel = connection.channel()
        declare_topology(channel)
        self._confirms = connection.transport.driver_type == "amqp"
        if self._confirms:
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
        self._next_tag = 1
        self._producer = Producer(channel)
        return self._producer

    def _await_confirms(self, first: int, count: int) -> set[int]:
        tags = range(first, first + count)
        deadline = time.monotonic() + self._confirm_timeout
        while self._unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerUnavailable(f"{len(self._unconfirmed)} message(s) not confirmed in time")
            self._connection.drain_events(timeout=remaining)
        refused = {tag - first for tag in self._nacked if tag in tags}
        self._nacked.clear()
        return refused

    def _settle(self, delivery_tag: int, multiple: bool) -> list[int]:
        if not multiple:
            self._unconfirmed.discard(delivery_tag)
            return [delivery_tag]
        settled = [tag for tag in self._unconfirmed if tag <= delivery_tag]
        self._unconfirmed.difference_update(settled)
        return settled

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked.update(self._settle(delivery_tag, multiple))

    def _fail(self) -> None:
        self.close()
        self._unconfirmed.clear()
        self._nacked.clear()
        self._failures += 1
        delay = min(30.0, 0.5 * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
