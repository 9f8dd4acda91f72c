"""Upgrading moves the applied deliveries out of django-outbox-pattern's ``received`` into
the inbox table, so a deployment keeps catching duplicates it applied before; the failed
ones stay where the admin lists and retries them. Downgrading moves them back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received

from blipay.events.consumers import Outcome, deliver
from blipay.events.models import AppliedEvent
from blipay.events.outbox import Outbound, envelope_of
from tests.eventsink.events import SinkPinged

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("blipay_events", "0004_stream_position_module_owner")
AFTER = ("blipay_events", "0005_applied_event")


def _migrate(target: tuple[str, str]) -> None:
    MigrationExecutor(connection).migrate([target])


def _received(envelope, status: int, retry: int) -> Received:
    headers = {
        "consumer": "sink",
        "destination": envelope.routing_key,
        "event_id": envelope.id,
        "correlation_id": envelope.correlation_id,
    }
    return Received.objects.create(
        msg_id=f"sink:{envelope.id}", headers=headers, body=envelope.to_dict(), status=status, retry=retry
    )


def test_upgrading_moves_applied_deliveries_to_the_inbox_and_leaves_failed_ones_and_downgrading_moves_them_back():
    applied, failed = (envelope_of(Outbound(SinkPinged(), subject=s, sequence=0)) for s in ("applied", "failed"))
    applied = type(applied)(**(applied.to_dict() | {"correlation_id": "req-moved", "causation_id": "cause-1"}))
    _migrate(BEFORE)
    try:
        kept = _received(applied, StatusChoice.SUCCEEDED, retry=2)
        _received(failed, StatusChoice.FAILED, retry=3)

        _migrate(AFTER)

        row = AppliedEvent.objects.get()
        assert (row.key, row.consumer, row.event_id, row.routing_key) == (
            f"sink:{applied.id}",
            "sink",
            applied.id,
            "sink.pinged.v1",
        )
        assert (row.correlation_id, row.causation_id, row.applied_at, row.attempts) == (
            "req-moved",
            "cause-1",
            kept.added,
            2,
        )
        assert list(Received.objects.values_list("msg_id", "status")) == [(f"sink:{failed.id}", StatusChoice.FAILED)]
        assert deliver("sink", applied) is Outcome.DUPLICATE

        _migrate(BEFORE)

        back = {
            msg_id: (status, retry, headers)
            for msg_id, status, retry, headers in Received.objects.values_list("msg_id", "status", "retry", "headers")
        }
        assert back[f"sink:{applied.id}"] == (StatusChoice.SUCCEEDED, 2, kept.headers)
        assert back[f"sink:{failed.id}"][:2] == (StatusChoice.FAILED, 3)
    finally:
        _migrate(AFTER)
