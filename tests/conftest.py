"""Shared fixtures. The suite runs twice in ``make test``: on the embedded defaults (SQLite,
in-process broker) and on PostgreSQL + RabbitMQ. Tests marked ``postgres`` or ``rabbitmq``
are about those servers' behaviour; on the embedded run they are deselected by name in the
Makefile, and if they ever run without the server they fail saying how to start it."""

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import settings as hypothesis_settings
from kombu import Queue

from blipay.events.broker import EXCHANGE, connect, dead_letter_queue, module_queue
from blipay.events.consumers import consumers_in_threads
from blipay.events.subscriptions import routing_keys

# Property tests try many examples by default; `make mutate` runs them once per mutant, so
# its profile tries fewer, always the same (the explicit @example boundaries still run).
hypothesis_settings.register_profile("blipay", max_examples=150)
hypothesis_settings.register_profile("mutate", max_examples=15, derandomize=True)
hypothesis_settings.load_profile("blipay")

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_RABBITMQ = "rabbitmq-server -detached && rabbitmqctl await_startup"


def _using_rabbitmq() -> bool:
    return settings.BROKER_URL.startswith("amqp://")


def pytest_sessionstart(session: pytest.Session) -> None:
    if settings.DATABASE_URL:
        import psycopg

        db = settings.DATABASES["default"]
        try:
            psycopg.connect(
                host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", connect_timeout=3
            ).close()
        except psycopg.OperationalError as exc:
            pytest.exit(
                f"PostgreSQL at {db['HOST']}:{db['PORT']} is not reachable ({exc}). Start it: {START_POSTGRES}", 3
            )
    if _using_rabbitmq():
        try:
            with connect() as broker:
                broker.ensure_connection(max_retries=1)
        except Exception as exc:  # noqa: BLE001 - any failure to connect ends the run with advice
            pytest.exit(f"RabbitMQ at {settings.BROKER_URL} is not reachable ({exc!r}). Start it: {START_RABBITMQ}", 3)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """`make mutate` (mutmut) runs test sessions side by side, forked in one checkout: each
    gets an SQLite test database of its own, or they would destroy each other's."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    for database in settings.DATABASES.values():
        if database["ENGINE"] == "django.db.backends.sqlite3":
            name = Path(database["TEST"]["NAME"])
            database["TEST"]["NAME"] = name.with_name(f"{name.stem}-{os.getpid()}{name.suffix}")


@pytest.fixture(autouse=True)
def _require_servers(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.fail(f"needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/blipay ({START_POSTGRES})")
    if request.node.get_closest_marker("rabbitmq") and not _using_rabbitmq():
        pytest.fail(f"needs RabbitMQ: set BROKER_URL=amqp://guest:guest@127.0.0.1:5672// ({START_RABBITMQ})")


@dataclass(frozen=True)
class Tapped:
    routing_key: str
    body: dict[str, Any]
    properties: dict[str, Any]

    @property
    def id(self) -> str:
        return self.body["id"]


class Tap:
    """A test queue bound to ``#`` on blipay.events: it sees every event the broker routes."""

    def __init__(self) -> None:
        self.queue = Queue(f"test.tap.{uuid.uuid4().hex[:12]}", exchange=EXCHANGE, routing_key="#", durable=True)
        with connect() as broker:
            self.queue(broker.channel()).declare()

    def take(self, count: int, *, timeout: float = 15.0) -> list[Tapped]:
        """Wait for ``count`` messages (fewer if the timeout passes first) and take them."""
        taken: list[Tapped] = []
        deadline = time.monotonic() + timeout
        with connect() as broker:
            bound = self.queue(broker.channel())
            while len(taken) < count and time.monotonic() < deadline:
                message = bound.get(no_ack=True)
                if message is None:
                    time.sleep(0.01)
                    continue
                taken.append(Tapped(message.delivery_info["routing_key"], json.loads(message.body), message.properties))
        return taken

    def take_all(self, *, quiet: float = 0.5) -> list[Tapped]:
        """Take messages until none has come for ``quiet`` seconds."""
        taken: list[Tapped] = []
        while batch := self.take(10_000, timeout=quiet):
            taken.extend(batch)
        return taken

    def delete(self) -> None:
        with connect() as broker:
            self.queue(broker.channel()).delete()


@pytest.fixture
def tap() -> Iterator[Tap]:
    tap = Tap()
    yield tap
    tap.delete()


@pytest.fixture
def sink_queue() -> Queue:
    """The sink module's queue and dead-letter queue, declared and empty."""
    queue = module_queue("sink", routing_keys("sink"))
    dead = dead_letter_queue("sink")
    with connect() as broker:
        for q in (dead, queue):
            q(broker.channel()).declare()
            q(broker.channel()).purge()
    return queue


@pytest.fixture
def consumer(sink_queue: Queue) -> Iterator[None]:
    """The sink module's consumer, running in a thread for the test."""
    with consumers_in_threads(["sink"]):
        yield
