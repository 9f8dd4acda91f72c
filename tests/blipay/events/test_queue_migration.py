"""`events migrate-queues`: classic queues become quorum queues with every message kept.

Each test runs in a virtual host of its own: the command moves every module's queues, and
the other tests declare them classic in the shared test vhost.
"""

import json
import os
import subprocess
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from kombu import Exchange, Producer

from blipay.events.broker import ConfirmingPublisher, connect, dead_letter_queue, declare_topology, module_queue
from blipay.events.consumers import consumers_in_threads
from blipay.events.outbox import Outbound, emit
from blipay.events.relay import relay_pending
from blipay.events.subscriptions import routing_keys
from tests.eventsink.events import SinkSaved
from tests.helpers import consumer_count, wait_until

pytestmark = [pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]


def _ctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def vhost(settings):
    name = f"blipay_test_migration_{os.getpid()}"
    _ctl("add_vhost", name)
    _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    url = urlsplit(settings.BROKER_URL)
    settings.BROKER_URL = f"{url.scheme}://{url.netloc}/{name}"
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False, "QUEUE_TYPE": "classic"}
    yield name
    _ctl("delete_vhost", name)


def _queue_types(vhost: str) -> dict[str, str]:
    rows = _ctl("list_queues", "-p", vhost, "--no-table-headers", "name", "type").splitlines()
    return dict(row.split("\t") for row in rows if row.strip())


def _take_all(queue) -> list[str]:
    with connect() as broker:
        bound = queue(broker.channel())
        ids = []
        while (message := bound.get(no_ack=True)) is not None:
            ids.append(json.loads(message.body)["id"])
        return ids


def _fill_classic_queues(count: int) -> tuple[list[str], list[str]]:
    """Events waiting in the sink's queue, and some in its dead-letter queue."""
    with connect() as broker:
        declare_topology(broker.channel())
    with transaction.atomic():
        ids = [
            emit(Outbound(SinkSaved(name=f"n{n}"), subject=f"s-{n % 7}", sequence=n // 7 + 1))[0].id
            for n in range(count)
        ]
    publisher = ConfirmingPublisher()
    try:
        relay_pending(publisher)
    finally:
        publisher.close()
    dead = dead_letter_queue("sink")
    dead_ids = [f"dead-{n}" for n in range(5)]
    with connect() as broker:
        producer = Producer(broker.channel(), exchange=Exchange(""))
        for dead_id in dead_ids:
            producer.publish(json.dumps({"id": dead_id}), routing_key=dead.name, delivery_mode=2)
    return ids, dead_ids


def test_classic_queues_move_to_quorum_with_every_message_once_and_in_order(vhost, settings):
    ids, dead_ids = _fill_classic_queues(300)
    assert _queue_types(vhost)["blipay.sink"] == "classic"
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "QUEUE_TYPE": "quorum"}

    call_command("events", "migrate-queues", "--to", "quorum")

    types = _queue_types(vhost)
    assert set(types.values()) == {"quorum"}, types
    assert not [name for name in types if name.endswith(".migrating")]
    assert _take_all(module_queue("sink", routing_keys("sink"))) == ids
    assert _take_all(dead_letter_queue("sink")) == dead_ids


def test_a_second_run_finds_the_queues_right_and_moves_nothing(vhost, settings, capsys):
    _fill_classic_queues(10)
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "QUEUE_TYPE": "quorum"}
    call_command("events", "migrate-queues", "--to", "quorum")
    capsys.readouterr()

    call_command("events", "migrate-queues", "--to", "quorum")

    assert "blipay.sink: already quorum" in capsys.readouterr().out
    assert len(_take_all(module_queue("sink", routing_keys("sink")))) == 10


def test_migration_is_refused_while_a_consumer_reads_the_queue(vhost, settings):
    _fill_classic_queues(1)
    queue = module_queue("sink", routing_keys("sink"))
    with consumers_in_threads(["sink"]):
        wait_until(lambda: consumer_count(queue) == 1, message="the sink's consumer started")
        settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "QUEUE_TYPE": "quorum"}

        with pytest.raises(CommandError, match=r"blipay.sink has 1 consumer\(s\): stop the module's consumers"):
            call_command("events", "migrate-queues", "--to", "quorum")

    assert _queue_types(vhost)["blipay.sink"] == "classic"


def test_migrating_to_a_type_other_than_the_configured_one_is_refused(vhost):
    with pytest.raises(CommandError, match="BLIPAY_QUEUE_TYPE is classic: set BLIPAY_QUEUE_TYPE=quorum"):
        call_command("events", "migrate-queues", "--to", "quorum")
