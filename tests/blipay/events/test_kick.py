import pytest
from django.db import transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from blipay.events.models import RelayKick
from blipay.events.outbox import Outbound, emit
from blipay.events.tasks import relay
from tests.eventsink.events import SinkSaved

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
