"""Poison messages: a consumer fed what no handler can read (not JSON, an unknown event type
or version, an envelope with fields missing, an event whose data lacks a field) parks each
in its dead-letter queue, or its inbox failures, with the reason, and keeps consuming."""

import json
import uuid

import pytest
from django.db import transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received

from blipay.events.broker import DEAD_LETTER_REASON_HEADER, EXCHANGE, connect, dead_letter_queue
from blipay.events.models import AppliedEvent
from blipay.events.outbox import Outbound, emit
from tests.eventsink.events import SinkPinged
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _envelope(**changes) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "sink.pinged",
        "version": 1,
        "source": "eventsink",
        "subject": "p",
        "sequence": 0,
        "time": "2026-11-25T10:00:00+00:00",
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "data": {},
    } | changes


def _publish(raw: bytes, routing_key: str = "sink.pinged.v1") -> None:
    with connect() as broker:
        broker.Producer().publish(
            raw, exchange=EXCHANGE, routing_key=routing_key, content_type="application/json", content_encoding="utf-8"
        )


def _sentinel() -> str:
    with transaction.atomic():
        return emit(Outbound(SinkPinged(), subject="sentinel", sequence=0))[0].id


def _applied(event_id: str) -> bool:
    return AppliedEvent.objects.filter(key=f"sink:{event_id}").exists()


def _dead_letters(count: int) -> list:
    taken = []
    with connect() as broker:
        queue = dead_letter_queue("sink")(broker.channel())

        def more() -> bool:
            while (message := queue.get(no_ack=True)) is not None:
                taken.append(message)
            return len(taken) >= count

        wait_until(more, message=f"{count} dead letters")
    return taken


POISON = [
    (b"{not json", "not JSON"),
    (json.dumps(_envelope(type="sink.nonsense")).encode(), "unknown event type or version"),
    (json.dumps(_envelope(version=9)).encode(), "unknown event type or version"),
    (json.dumps({k: v for k, v in _envelope().items() if k != "subject"}).encode(), "no 'subject' field"),
    (b"[1, 2, 3]", "not an event envelope"),
]


@pytest.mark.parametrize(
    ("raw", "reason"), POISON, ids=["malformed", "unknown type", "unknown version", "missing field", "not an object"]
)
def test_an_unreadable_message_is_dead_lettered_with_its_reason_and_the_consumer_goes_on(consumer, raw, reason):
    _publish(raw)
    sentinel = _sentinel()

    wait_until(lambda: _applied(sentinel), message="the message after it applied")
    [dead] = _dead_letters(1)
    assert (dead.body.encode() if isinstance(dead.body, str) else dead.body) == raw  # as it came
    assert reason in dead.headers[DEAD_LETTER_REASON_HEADER]


def test_an_event_whose_data_lacks_a_field_is_kept_failed_with_the_reason_and_the_consumer_goes_on(consumer):
    broken = _envelope(type="sink.saved", subject="s1", sequence=1, data={})
    _publish(json.dumps(broken).encode(), routing_key="sink.saved.v1")
    sentinel = _sentinel()

    wait_until(lambda: _applied(sentinel), message="the message after it applied")
    wait_until(lambda: Received.objects.filter(msg_id=f"sink:{broken['id']}", status=StatusChoice.FAILED).exists())
    failure = Received.objects.get(msg_id=f"sink:{broken['id']}")
    assert "name" in failure.headers["error"]
