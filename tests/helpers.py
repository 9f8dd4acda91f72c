import socket
import time
from collections.abc import Callable

from django.conf import settings
from kombu import Queue

from blipay.events.broker import connect, dead_letter_queue, module_queue
from blipay.events.subscriptions import consuming_modules, routing_keys


def wait_until(
    condition: Callable[[], object], *, timeout: float = 15.0, message: str | Callable[[], str] = "condition not met"
) -> None:
    """Wait for ``condition``; ``message`` may be a function, asked only on failure (for
    what things looked like then)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message() if callable(message) else message} within {timeout}s")
        time.sleep(0.02)


def postgres_test_db_url() -> str:
    """DATABASE_URL of the PostgreSQL test database, for a subprocess of a test."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def queue_depth(queue: Queue) -> int:
    """Messages ready (not yet delivered) in ``queue``."""
    with connect() as broker:
        return queue(broker.channel()).queue_declare(passive=True).message_count


def consumer_count(queue: Queue) -> int:
    with connect() as broker:
        return queue(broker.channel()).queue_declare(passive=True).consumer_count


def purge_module_queues() -> None:
    with connect() as broker:
        for module in consuming_modules():
            for queue in (dead_letter_queue(module), module_queue(module, routing_keys(module))):
                bound = queue(broker.channel())
                bound.declare()
                bound.purge()


def free_port() -> int:
    """A loopback port nobody listens on (free once the probe closes): for a server to
    bind, or for a peer that refuses connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
