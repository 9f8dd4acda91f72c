import threading

import pytest
from django.db import connection, transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from blipay.events import relay as relay_module
from blipay.events.errors import BrokerUnavailable
from blipay.events.models import RelayKick
from blipay.events.outbox import Outbound, emit
from blipay.events.relay import relay_until_quiet
from blipay.events.tasks import relay
from tests.eventsink.events import SinkSaved
from tests.helpers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _save(name: str) -> str:
    with transaction.atomic():
        return emit(Outbound(SinkSaved(name=name), subject="k", sequence=1))[0].id


def test_a_commit_while_a_kick_waits_queues_none_and_the_waiting_kick_sends_it(tap):
    RelayKick.objects.update_or_create(pk=1, defaults={"pending": True})  # a kick waits in Celery's queue

    event_id = _save("covered by the waiting kick")

    assert Published.objects.get(id=event_id).status == StatusChoice.SCHEDULE
    relay()  # the waiting kick runs
    assert [m.id for m in tap.take(1)] == [event_id]
    assert not RelayKick.objects.get(pk=1).pending


def test_a_commit_with_no_kick_waiting_relays_at_once(tap):
    event_id = _save("kicked")

    assert [m.id for m in tap.take(1)] == [event_id]
    assert Published.objects.get(id=event_id).status == StatusChoice.SUCCEEDED


def test_commits_while_a_kicked_relay_lingers_queue_no_kick_and_the_lingering_relay_sends_them(tap):
    RelayKick.objects.update_or_create(pk=1, defaults={"pending": True})  # the kick the task was
    settled: list[int] = []

    def worker() -> None:
        try:
            settled.append(relay_until_quiet(linger=1.0, poll=0.01))
        finally:
            connection.close()

    lingering = threading.Thread(target=worker)
    lingering.start()
    sent = [_save(f"committed while it lingers {n}") for n in range(3)]
    received = [m.id for m in tap.take(3)]
    waiting_while_it_lingered = RelayKick.objects.get(pk=1).pending
    lingering.join(10)

    assert received == sent
    assert waiting_while_it_lingered  # so the commits queued no kick of their own
    assert settled == [3]
    assert not RelayKick.objects.get(pk=1).pending  # quiet: the next commit kicks again


def test_a_relay_that_cannot_reach_the_broker_while_it_lingers_lets_the_next_commit_kick_again(settings, monkeypatch):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    event_id = _save("waits for a broker")
    RelayKick.objects.update_or_create(pk=1, defaults={"pending": True})
    # A broker nobody listens for: this process's publisher connects afresh, and is refused.
    settings.BROKER_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    monkeypatch.setattr(relay_module, "_process_publisher", None)

    with pytest.raises(BrokerUnavailable):
        relay_until_quiet(linger=1.0, poll=0.01)

    assert not RelayKick.objects.get(pk=1).pending
    assert Published.objects.get(id=event_id).status == StatusChoice.SCHEDULE  # kept for the next relay
