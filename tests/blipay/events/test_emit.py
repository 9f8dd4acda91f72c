import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_outbox_pattern.models import Published

from blipay.events.errors import EventSchemaError, NotInTransaction
from blipay.events.outbox import Outbound, emit
from tests.eventsink.events import SinkPinged, SinkSaved

pytestmark = pytest.mark.django_db(transaction=True)


def test_committed_event_reaches_the_exchange_with_its_routing_key_and_id(tap):
    with transaction.atomic():
        envelope = emit(Outbound(SinkSaved(name="Ani"), subject="s-1", sequence=1))[0]

    [message] = tap.take(1)
    assert message.routing_key == "sink.saved.v1"
    assert message.properties["message_id"] == envelope.id
    assert message.properties["delivery_mode"] == 2
    assert message.body == envelope.to_dict()
    assert message.body["data"] == {"name": "Ani"}
    assert message.body["source"] == "blipay.eventsink"


def test_rolled_back_transaction_emits_nothing(tap):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(Outbound(SinkSaved(name="Ani"), subject="s-1", sequence=1))
        raise RuntimeError("the business change failed")
    with transaction.atomic():
        emit(Outbound(SinkSaved(name="Budi"), subject="s-2", sequence=1))

    assert [m.body["subject"] for m in tap.take_all()] == ["s-2"]
    assert Published.objects.count() == 1


def test_emit_outside_a_transaction_raises_and_records_nothing():
    with pytest.raises(NotInTransaction):
        emit(Outbound(SinkSaved(name="Ani"), subject="s-1", sequence=1))
    assert not Published.objects.exists()


def test_payload_that_breaks_its_schema_is_refused_at_emit(tap):
    with pytest.raises(EventSchemaError, match="name"), transaction.atomic():
        emit(Outbound(SinkSaved(name=""), subject="s-1", sequence=1))
    assert not Published.objects.exists()
    assert tap.take_all() == []


def test_one_transaction_emitting_many_events_sends_them_in_order(tap):
    with transaction.atomic():
        sent = [emit(Outbound(SinkSaved(name=f"v{n}"), subject="s-1", sequence=n))[0] for n in range(1, 51)]

    assert [m.id for m in tap.take(50)] == [e.id for e in sent]


def test_several_events_emitted_together_are_written_with_one_insert_in_order(tap):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        first, second = emit(
            Outbound(SinkSaved(name="Ani"), subject="s-1", sequence=1),
            Outbound(SinkPinged(), subject="s-1", sequence=0),
        )

    assert len([q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "published"')]) == 1
    assert [(m.id, m.routing_key) for m in tap.take(2)] == [(first.id, "sink.saved.v1"), (second.id, "sink.pinged.v1")]


def test_request_id_is_echoed_and_becomes_the_events_correlation_id(client, tap):
    response = client.get("/test/ping", headers={"X-Request-ID": "req-42"})

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42"
    [message] = tap.take(1)
    assert message.body["correlation_id"] == "req-42"
    assert message.properties["correlation_id"] == "req-42"
    assert message.body["causation_id"] is None


def test_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(client, tap):
    response = client.get("/test/ping", headers={"X-Request-ID": "bad id\nwith newline"})

    generated = response["X-Request-ID"]
    assert generated and generated != "bad id\nwith newline"
    assert tap.take(1)[0].body["correlation_id"] == generated


def test_traceparent_of_the_request_is_carried_by_its_events(client, tap):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    client.get("/test/ping", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})

    traceparent = tap.take(1)[0].body["traceparent"]
    assert traceparent.startswith(f"00-{trace_id}-") and traceparent.endswith("-01")


def test_notice_events_need_no_state(tap):
    with transaction.atomic():
        emit(Outbound(SinkPinged(), subject="p", sequence=0))
    assert tap.take(1)[0].routing_key == "sink.pinged.v1"
