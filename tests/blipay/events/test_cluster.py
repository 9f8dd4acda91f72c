"""A replicated broker: a 3-node RabbitMQ cluster loses the node that leads the queues.

The cluster is private (``tests/rabbitmq_nodes.py``: its own nodes, ports and files, removed
afterwards); the machine's own RabbitMQ is never touched. ``make test-cluster`` runs this
once; ``make test-real`` leaves it out (marker ``cluster``).
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from blipay.events.broker import ConfirmingPublisher, connect, declare_topology, queue_name
from blipay.events.consumers import consumers_in_threads
from blipay.events.errors import BrokerUnavailable
from blipay.events.models import AppliedEvent
from blipay.events.outbox import Outbound, emit
from blipay.events.relay import relay_pending
from tests.eventsink.events import SinkPinged
from tests.eventsink.models import Effect
from tests.helpers import wait_until
from tests.rabbitmq_nodes import Node, rabbitmq_cluster

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RECOVERY_TIMEOUT = 120  # seconds; a Raft election takes a few, a loaded 2-core machine more


@dataclass
class Traffic:
    """Events committed through the outbox, one per transaction, until stopped."""

    stop: threading.Event = field(default_factory=threading.Event)
    emitted: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, event id)

    def run(self) -> None:
        try:
            n = 0
            while not self.stop.is_set():
                with transaction.atomic():
                    [envelope] = emit(Outbound(SinkPinged(), subject=f"cluster-{n % 20}", sequence=0))
                self.emitted.append((time.monotonic(), envelope.id))
                n += 1
                self.stop.wait(0.005)
        finally:
            connection.close()

    def after(self, moment: float) -> list[str]:
        return [event_id for at, event_id in list(self.emitted) if at > moment]

    def between(self, start: float, end: float) -> int:
        return sum(1 for at, _ in list(self.emitted) if start <= at <= end)


@dataclass
class Relay:
    """The standalone relay's loop (``manage.py relay``), counting the broker's failures."""

    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)

    def run(self) -> None:
        publisher = ConfirmingPublisher()
        try:
            while not self.stop.is_set():
                try:
                    if not relay_pending(publisher, batch_size=100):
                        self.stop.wait(0.02)
                except BrokerUnavailable as exc:
                    self.failures.append(repr(exc))
                    self.stop.wait(0.1)
        finally:
            publisher.close()
            connection.close()


def _leaders(node: Node) -> dict[str, str]:
    rows = node.ctl("list_queues", "--no-table-headers", "name", "leader").splitlines()
    return dict(row.split("\t", 1) for row in rows if "\t" in row)


def _applied(event_id: str) -> bool:
    return Effect.objects.filter(event_id=event_id).exists()


def test_losing_the_node_that_leads_the_quorum_queues_loses_and_doubles_no_confirmed_event(settings, capsys):
    started = time.monotonic()
    with rabbitmq_cluster(3) as nodes:
        settings.BROKER_URL = ";".join(node.url for node in nodes)  # kombu's failover form
        settings.BLIPAY_EVENTS = {
            **settings.BLIPAY_EVENTS,
            "QUEUE_TYPE": "quorum",
            "RELAY_ON_COMMIT": False,  # the relay thread below is the only one
            "RELAY_CONFIRM_TIMEOUT": 5,
        }
        with connect() as broker:
            declare_topology(broker.channel())
        sink_queue = queue_name("sink")
        names = {node.node: node for node in nodes}
        wait_until(lambda: _leaders(nodes[1]).get(sink_queue) in names, message=f"{sink_queue} has a leader")
        leaders = _leaders(nodes[1])
        leader = names[leaders[sink_queue]]
        led = sum(1 for node_name in leaders.values() if node_name == leader.node)

        traffic, relay = Traffic(), Relay()
        threads = [threading.Thread(target=traffic.run), threading.Thread(target=relay.run)]
        with consumers_in_threads(["sink"]):
            for thread in threads:
                thread.start()
            try:
                wait_until(lambda: Effect.objects.count() >= 200, timeout=RECOVERY_TIMEOUT, message="traffic flowing")
                lost_at = time.monotonic()
                leader.stop_app()
                stopped_at = time.monotonic()
                wait_until(
                    lambda: traffic.after(stopped_at),
                    timeout=RECOVERY_TIMEOUT,
                    message="an event committed after the node stopped",
                )
                first_after = traffic.after(stopped_at)[0]
                wait_until(
                    lambda: _applied(first_after),
                    timeout=RECOVERY_TIMEOUT,
                    message="an event committed after the node stopped applied",
                )
                recovered_at = time.monotonic()
                survivor = next(node for node in nodes if node is not leader)
                wait_until(
                    lambda: _leaders(survivor).get(sink_queue) not in (None, "", leader.node),
                    message=f"{sink_queue} has a new leader",
                )
                new_leader = _leaders(survivor)[sink_queue]
                wait_until(
                    lambda: len(traffic.after(recovered_at)) >= 200,
                    timeout=RECOVERY_TIMEOUT,
                    message="traffic after the recovery",
                )
            finally:
                traffic.stop.set()
                threads[0].join(30)
            emitted = [event_id for _, event_id in traffic.emitted]
            try:
                wait_until(
                    lambda: (
                        AppliedEvent.objects.filter(consumer="sink").count() >= len(emitted)
                        and not Published.objects.filter(status=StatusChoice.SCHEDULE).exists()
                    ),
                    timeout=RECOVERY_TIMEOUT,
                    message="every event relayed and applied",
                )
            finally:
                relay.stop.set()
                threads[1].join(30)
        failed = Published.objects.filter(status=StatusChoice.FAILED).count()
        sent = set(Published.objects.filter(status=StatusChoice.SUCCEEDED).values_list("body__id", flat=True))
    effects = Counter(Effect.objects.values_list("event_id", flat=True))
    lost = sent - set(effects)
    doubled = {event_id for event_id, times in effects.items() if times > 1}

    with capsys.disabled():
        print(
            f"\ncluster: {len(emitted)} events, {traffic.between(lost_at, recovered_at)} committed during the node "
            f"loss; lost {len(lost)}, doubled {len(doubled)}; {leader.name}, leading {led} of {len(leaders)} "
            f"queues, stopped (took {stopped_at - lost_at:.1f}s), new leader {new_leader}; first event after it "
            f"applied {recovered_at - lost_at:.1f}s after the stop began; relay failures {len(relay.failures)}; "
            f"test {time.monotonic() - started:.0f}s"
        )
    assert sent == set(emitted), "every committed event was confirmed by the broker and marked sent"
    assert failed == 0
    assert not lost, f"{len(lost)} confirmed event(s) never applied"
    assert not doubled, f"{len(doubled)} event(s) applied more than once"
