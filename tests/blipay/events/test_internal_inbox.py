"""The signed ``/internal/inbox/<module>/<event id>`` answers whether a deployment applied
an event: what a backfill's and a handover's waits ask an extracted service. The view is
called as a service's URLconf calls it: the monolith's edge strips identity headers."""

import pytest
from django.db import transaction
from django.test import RequestFactory
from django_outbox_pattern.models import Received

from blipay.events.context import caused_by
from blipay.events.models import AppliedEvent
from blipay.events.outbox import Outbound, emit
from blipay.events.views import inbox_has
from blipay.identity.internal import META_KEY, Caller, sign
from tests.eventsink.events import SinkPinged
from tests.eventsink.models import Switch
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def asked(event_id: str) -> int:
    path = f"/internal/inbox/sink/{event_id}"
    identity = sign(method="GET", path=path, query="", body=b"", caller=Caller(None, None))
    return inbox_has(RequestFactory().get(path, **{META_KEY: identity}), "sink", event_id).status_code


def test_an_event_whose_delivery_failed_is_not_reported_applied(consumer):
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    with caused_by(correlation_id="req-inbox-1", causation_id=None, traceparent=None), transaction.atomic():
        broken, fine = emit(
            Outbound(SinkPinged(echo=False), subject="broken", sequence=0),
            Outbound(SinkPinged(echo=False), subject="fine", sequence=0),
        )
    wait_until(
        lambda: (
            AppliedEvent.objects.filter(correlation_id="req-inbox-1").exists()
            and Received.objects.filter(headers__correlation_id="req-inbox-1").exists()
        )
    )

    assert (asked(fine.id), asked(broken.id)) == (200, 404)
