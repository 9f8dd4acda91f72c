"""The bench's queues on the broker: declared for a figure, deleted after it."""

from collections.abc import Iterator
from contextlib import contextmanager

from kombu import Connection, Queue

from blipay.events.broker import EXCHANGE, connect

ROUTING = "bench.#"  # the bench's events only; the test suite's queues never bind these keys


def tap_queue(name: str = "bench.tap") -> Queue:
    """A durable queue bound to every bench event: the relays' messages must be stored, as in production."""
    return Queue(name, exchange=EXCHANGE, routing_key=ROUTING, durable=True)


@contextmanager
def declared(*queues: Queue) -> Iterator[Connection]:
    """Declare (and empty) ``queues`` for the block; delete them after it."""
    with connect() as broker:
        channel = broker.channel()
        bound = [queue(channel) for queue in queues]
        for queue in bound:
            queue.declare()
            queue.purge()
        try:
            yield broker
        finally:
            for queue in bound:
                queue(broker.channel()).delete()


def depth(broker: Connection, queue: Queue) -> int:
    """Messages ready in ``queue`` (a passive declare: cheap, no consumer needed)."""
    return queue(broker.default_channel).queue_declare(passive=True).message_count


def purge(broker: Connection, queue: Queue) -> None:
    queue(broker.default_channel).purge()
