import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from kombu import Queue

from blipay.events.broker import EXCHANGE, ConfirmingPublisher, connect
from blipay.events.consumers import consumers_in_threads
from blipay.events.errors import BrokerUnavailable
from blipay.events.models import AppliedEvent
from blipay.events.outbox import Outbound, emit
from blipay.events.relay import delete_old_sent, relay_batch, relay_pending, retry_failed
from tests.eventsink.events import SinkPinged, SinkSaved
from tests.eventsink.models import Replica
from tests.helpers import postgres_test_db_url, queue_depth, wait_until
from tests.observed import scrape

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def backlog(settings):
    """Emit without kicking the relay, so events wait in the outbox."""
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}

    def make(count: int, *, subjects: int = 10) -> list[str]:
        with transaction.atomic():
            return [
                emit(Outbound(SinkSaved(name=f"n{n}"), subject=f"s-{n % subjects}", sequence=n // subjects + 1))[0].id
                for n in range(count)
            ]

    return make


def _pending() -> int:
    return Published.objects.filter(status=StatusChoice.SCHEDULE).count()


def _sent() -> int:
    return Published.objects.filter(status=StatusChoice.SUCCEEDED).count()


def _applied_by_sink() -> int:
    return AppliedEvent.objects.filter(consumer="sink").count()


def _assert_per_subject_order(messages) -> None:
    seen: dict[str, int] = {}
    for message in messages:
        subject, sequence = message.body["subject"], message.body["sequence"]
        assert sequence > seen.get(subject, 0), f"{subject} went {seen.get(subject)} → {sequence}"
        seen[subject] = sequence


def test_relay_drains_the_backlog_and_marks_rows_sent(backlog, tap):
    ids = backlog(1200)

    assert relay_pending(ConfirmingPublisher(), batch_size=500) == 1200

    messages = tap.take(1200, timeout=60)  # one basic.get per message: slow on a loaded machine
    assert [m.id for m in messages] == ids
    assert _pending() == 0
    assert Published.objects.filter(status=StatusChoice.SUCCEEDED).count() == 1200


def test_a_batch_takes_the_configured_number_of_oldest_rows_and_counts_one_attempt(backlog, tap, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_BATCH_SIZE": 3}
    ids = backlog(5)

    assert relay_batch(ConfirmingPublisher()) == 3
    assert relay_batch(ConfirmingPublisher(), batch_size=1) == 1

    assert [m.id for m in tap.take(4)] == ids[:4]
    assert _pending() == 1
    sent = Published.objects.filter(status=StatusChoice.SUCCEEDED)
    assert sorted(str(pk) for pk in sent.values_list("id", flat=True)) == sorted(ids[:4])
    assert set(sent.values_list("retry", flat=True)) == {1}  # ``retry`` counts attempts


def test_pending_events_never_expire(backlog, tap):
    [event_id] = backlog(1)
    Published.objects.update(expires_at=timezone.now() - timedelta(days=3))

    relay_pending(ConfirmingPublisher())

    assert [m.id for m in tap.take(1)] == [event_id]


def test_unreachable_broker_leaves_every_event_pending(backlog):
    backlog(20)
    publisher = ConfirmingPublisher("amqp://guest:guest@127.0.0.1:1//")

    with pytest.raises(BrokerUnavailable):
        relay_pending(publisher)

    assert _pending() == 20


def test_a_failed_publisher_backs_off_before_trying_the_broker_again(backlog):
    backlog(1)
    publisher = ConfirmingPublisher("amqp://guest:guest@127.0.0.1:1//")
    with pytest.raises(BrokerUnavailable):
        relay_pending(publisher)

    with pytest.raises(BrokerUnavailable, match="backing off"):
        relay_pending(publisher)


@pytest.mark.rabbitmq
def test_rabbitmq_stopped_mid_relay_then_restarted_every_event_arrives(backlog, tap):
    ids = backlog(6000)
    stop = threading.Event()
    outages: list[str] = []  # every BrokerUnavailable the relay met, in order

    def relay_until_drained() -> None:
        publisher = ConfirmingPublisher(confirm_timeout=5)
        try:
            while not stop.is_set():
                try:
                    relay_pending(publisher, batch_size=200)
                except BrokerUnavailable as exc:
                    outages.append(str(exc))
                    stop.wait(0.2)
                    continue
                if not _pending():
                    return
        finally:
            publisher.close()
            connection.close()

    def tried_the_broker_since(seen: int) -> int:
        # Attempts that reached for the broker, not those the publisher's back-off refused.
        return sum("backing off" not in outage for outage in outages[seen:])

    relay = threading.Thread(target=relay_until_drained)
    relay.start()
    wait_until(lambda: _pending() < 5000, message="relay started")
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
    try:
        # The relay appends an outage only after its failed batch rolled back, and it is the
        # only relay: from the first outage on, its transactions all end while the broker is
        # down, so the count of rows marked sent must not move until the broker is back.
        wait_until(lambda: outages, timeout=30, message="the relay saw the broker go down")
        seen, sent_when_down = len(outages), _sent()
        wait_until(lambda: tried_the_broker_since(seen) >= 2, timeout=30, message="the relay tried the broker again")
        assert _sent() == sent_when_down, "rows were marked sent while the broker was down"
        assert _pending() == len(ids) - sent_when_down > 0
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
        subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True)
    relay.join(120)
    stop.set()

    arrived = Counter(m.id for m in tap.take_all(quiet=2))
    assert set(arrived) == set(ids), f"{len(set(ids) - set(arrived))} event(s) lost"
    assert _pending() == 0


@pytest.mark.postgres
def test_two_relays_at_once_publish_each_event_once_in_per_subject_order(backlog, tap):
    ids = backlog(3000, subjects=7)
    barrier = threading.Barrier(2)
    settled: list[int] = []
    errors: list[BaseException] = []

    def relay() -> None:
        publisher = ConfirmingPublisher()
        try:
            barrier.wait(30)  # both claim from the same backlog at once
            settled.append(relay_pending(publisher, batch_size=100))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            publisher.close()
            connection.close()

    relays = [threading.Thread(target=relay) for _ in range(2)]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join(60)

    assert errors == []
    assert not any(thread.is_alive() for thread in relays)
    assert sum(settled) == 3000, "a row was settled by both relays, or by neither"
    assert _pending() == 0
    messages = tap.take(3000, timeout=60)  # one basic.get per message: slow on a loaded machine
    assert sorted(m.id for m in messages) == sorted(ids)
    assert len(messages) == len({m.id for m in messages}), "an event was published twice"
    assert tap.take(1, timeout=1) == [], "an event was published twice"
    _assert_per_subject_order(messages)


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_relay_killed_mid_backlog_loses_nothing_and_consumers_absorb_the_repeated_batch(backlog, tap, sink_queue):
    ids = backlog(10_000, subjects=50)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": postgres_test_db_url(),
        "BROKER_URL": settings.BROKER_URL,
    }
    command = [sys.executable, "manage.py", "relay", "--batch-size", "500"]

    first = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL)
    wait_until(lambda: _pending() <= 6000, timeout=60, message="first relay got going")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert _pending() > 0, "the relay finished before it was killed"

    second = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: _pending() == 0, timeout=120, message="second relay drained the outbox")
    finally:
        second.terminate()
        second.wait(10)

    messages = tap.take_all(quiet=2)
    arrived = Counter(m.id for m in messages)
    assert set(arrived) == set(ids)
    repeats = sum(count - 1 for count in arrived.values())
    assert repeats <= 500, f"{repeats} events published twice"
    _assert_per_subject_order([m for m in messages if arrived[m.id] == 1])

    with consumers_in_threads(["sink"]):
        # An empty queue is not the end: the consumer may still hold its last prefetched batch,
        # unapplied. Wait for every event applied and the repeats taken off the queue too.
        wait_until(
            lambda: _applied_by_sink() >= 10_000 and queue_depth(sink_queue) == 0,
            timeout=240,
            message="sink applied all 10,000 events",
        )
    assert _applied_by_sink() == 10_000
    assert set(Replica.objects.values_list("sequence", flat=True)) == {200}
    assert Replica.objects.count() == 50


@pytest.fixture
def full_queue():
    """A queue the broker refuses to add to: publishes routed to it are nacked."""
    queue = Queue(
        "test.full",
        exchange=EXCHANGE,
        routing_key="sink.pinged.v1",
        durable=False,
        queue_arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
    )
    with connect() as broker:
        queue(broker.channel()).declare()
    yield queue
    with connect() as broker:
        queue(broker.channel()).delete()


@pytest.mark.rabbitmq
def test_event_the_broker_keeps_refusing_ends_failed_and_the_admin_can_retry_it(backlog, full_queue, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_MAX_ATTEMPTS": 3}
    backlog(2)
    with transaction.atomic():
        refused = emit(Outbound(SinkPinged(), subject="p", sequence=0))[0]
    publisher = ConfirmingPublisher()

    for _ in range(3):
        relay_pending(publisher)

    statuses = {str(pk): status for pk, status in Published.objects.values_list("id", "status")}
    assert statuses.pop(refused.id) == StatusChoice.FAILED
    assert set(statuses.values()) == {StatusChoice.SUCCEEDED}

    assert retry_failed([refused.id]) == 1
    assert Published.objects.get(id=refused.id).status == StatusChoice.SCHEDULE


def test_failed_events_retried_from_the_admin_are_pending_again_and_sent(backlog, tap):
    failed, sent, other = backlog(3)
    relay_pending(ConfirmingPublisher())
    tap.take(3)
    Published.objects.filter(id__in=[failed, other]).update(status=StatusChoice.FAILED, retry=5)

    assert retry_failed([failed, sent]) == 1  # only a failed row goes back in the queue
    row = Published.objects.get(id=failed)
    assert (row.status, row.retry) == (StatusChoice.SCHEDULE, 0)
    assert Published.objects.get(id=sent).status == StatusChoice.SUCCEEDED
    assert Published.objects.get(id=other).status == StatusChoice.FAILED  # not selected: left alone

    relay_pending(ConfirmingPublisher())
    assert [m.id for m in tap.take(2, timeout=2)] == [failed]


class NackingPublisher(ConfirmingPublisher):
    """The broker's nack as the relay sees it: the batch is published for real, then the
    messages of the events in ``nack`` are reported refused. The embedded broker never
    refuses; RabbitMQ's own refusal is tested above
    (test_event_the_broker_keeps_refusing_ends_failed_and_the_admin_can_retry_it)."""

    def __init__(self, nack: set[str]) -> None:
        super().__init__()
        self.nack = nack

    def publish(self, messages, *, meanwhile=None) -> set[int]:
        refused = super().publish(messages, meanwhile=meanwhile)
        return refused | {index for index, message in enumerate(messages) if message.id in self.nack}


def test_a_refused_event_is_taken_back_pending_then_failed_after_the_last_attempt(backlog, settings, caplog):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_MAX_ATTEMPTS": 3}
    first, refused, last = backlog(3)
    publisher = NackingPublisher({refused})
    before = scrape(settings)

    def states() -> dict[str, tuple[str, int]]:
        return {str(row.id): (row.status, row.retry) for row in Published.objects.all()}

    relay_pending(publisher)
    after_one = states()
    relay_pending(publisher)
    relay_pending(publisher)

    assert after_one == {
        first: (StatusChoice.SUCCEEDED, 1),
        refused: (StatusChoice.SCHEDULE, 1),
        last: (StatusChoice.SUCCEEDED, 1),
    }
    assert states()[refused] == (StatusChoice.FAILED, 3)
    assert states()[first] == states()[last] == (StatusChoice.SUCCEEDED, 1)
    warned = [r.getMessage() for r in caplog.records if r.name == "blipay.events.relay"]
    assert warned == [f"broker refused 1 event(s): [UUID('{refused}')]"] * 3
    after = scrape(settings)
    counted = {
        outcome: after.value("blipay_relay_events_total", outcome=outcome)
        - before.value("blipay_relay_events_total", outcome=outcome)
        for outcome in ("confirmed", "refused")
    }
    assert counted == {"confirmed": 2, "refused": 3}  # what the dashboard's relay panel shows
    assert after.value("blipay_relay_confirm_seconds_sum") - before.value("blipay_relay_confirm_seconds_sum") < 60


def test_retention_deletes_old_sent_events_but_keeps_each_subjects_latest_state(backlog):
    backlog(6, subjects=2)  # s-0 and s-1, three versions each
    with transaction.atomic():
        emit(Outbound(SinkPinged(), subject="p", sequence=0))
    relay_pending(ConfirmingPublisher())
    backlog(1, subjects=1)  # still pending
    Published.objects.update(added=F("added") - timedelta(days=60))

    delete_old_sent(older_than=timedelta(days=30))

    left = {
        (row.body["type"], row.body["subject"], row.body["sequence"], row.status) for row in Published.objects.all()
    }
    assert left == {
        ("sink.saved", "s-0", 3, StatusChoice.SUCCEEDED),
        ("sink.saved", "s-1", 3, StatusChoice.SUCCEEDED),
        ("sink.saved", "s-0", 1, StatusChoice.SCHEDULE),
    }


@pytest.mark.rabbitmq
def test_a_publisher_given_a_failover_list_publishes_through_the_first_node_that_answers(backlog, tap, settings):
    ids = backlog(5)
    publisher = ConfirmingPublisher(f"amqp://guest:guest@127.0.0.1:1//;{settings.BROKER_URL}")
    try:
        assert relay_pending(publisher) == 5
    finally:
        publisher.close()

    assert [m.id for m in tap.take(5)] == ids
