"""The choreography picture shows what went wrong: a dead-lettered delivery, a retried one,
an event still waiting for the relay. (The payment flow itself: tests/apps/test_choreography.py.)"""

import re
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received

from blipay.events.consumers import deliver
from blipay.events.context import caused_by
from blipay.events.envelope import Envelope
from blipay.events.inbox import inbox_id
from blipay.events.models import AppliedEvent, ModuleOwner
from blipay.events.outbox import Outbound, emit, envelope_of
from tests.eventsink.events import SinkPinged, SinkSaved
from tests.eventsink.models import Switch
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def picture(client, correlation_id: str) -> tuple[ET.Element, str]:
    response = client.get(f"/admin/django_outbox_pattern/published/choreography/{correlation_id}/")
    assert response.status_code == 200
    page = response.content.decode()
    return ET.fromstring(re.search(r'<svg class="choreography".*?</svg>', page, re.S).group(0)), page


def marks(svg: ET.Element, kind: str) -> list[str]:
    """The titles (tooltips) of the marks of ``kind``."""
    return [g.find(f"{SVG}title").text for g in svg.iter(f"{SVG}g") if f"mark-{kind}" in g.get("class", "").split()]


def pings(correlation_id: str, *subjects_and_echo: tuple[str, bool]) -> list[Envelope]:
    with caused_by(correlation_id=correlation_id, causation_id=None, traceparent=None), transaction.atomic():
        return emit(
            *(Outbound(SinkPinged(echo=echo), subject=subject, sequence=0) for subject, echo in subjects_and_echo)
        )


def test_a_dead_lettered_delivery_is_drawn_as_one_with_its_attempts_and_error(consumer, staff_client, settings):
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    pings("req-dead-1", ("broken", False), ("fine", True))

    # The fine ping's handler emits sink.saved (the echo), which the sink applies too.
    wait_until(
        lambda: (
            AppliedEvent.objects.filter(correlation_id="req-dead-1").count() == 2
            and Received.objects.filter(headers__correlation_id="req-dead-1").exists()
        )
    )
    svg, page = picture(staff_client, "req-dead-1")

    attempts = settings.BLIPAY_EVENTS["CONSUMER_MAX_ATTEMPTS"]
    [dead] = marks(svg, "failed")
    assert f"sink: sink.pinged.v1 dead-lettered after {attempts} attempts" in dead
    assert "switched to fail for broken" in dead
    assert f"dead letter · {attempts} tries" in [t.text for t in svg.iter(f"{SVG}text")]
    assert len(marks(svg, "applied")) == 2  # the fine ping and its echo
    assert page.count('<tr class="fact-dead-lettered">') == 1
    causes = [line.find(f"{SVG}title").text for line in svg.iter(f"{SVG}line") if line.get("class") == "l-cause"]
    assert causes == ["the sink handler of sink.pinged emitted sink.saved"]


def test_a_delivery_applied_after_failing_is_drawn_retried(consumer, staff_client):
    Switch.objects.create(subject="flaky", mode=Switch.FAIL)
    [event] = pings("req-retried-1", ("flaky", False))
    wait_until(lambda: Received.objects.filter(msg_id=f"sink:{event.id}", status=StatusChoice.FAILED).exists())
    Switch.objects.all().delete()
    deliver("sink", event)  # what the inbox admin's retry does

    svg, _ = picture(staff_client, "req-retried-1")

    [retried] = marks(svg, "retried")
    assert "applied after 3 failed attempts" in retried
    assert not marks(svg, "failed")
    assert not Received.objects.exists()


def test_an_event_the_relay_has_not_sent_is_drawn_waiting_and_its_consumers_pending(staff_client, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    pings("req-waiting-1", ("later", False))

    svg, _ = picture(staff_client, "req-waiting-1")

    assert marks(svg, "relay-pending") == ["sink.pinged.v1 is in the outbox, not relayed yet"]
    assert marks(svg, "pending") == ["sink has not applied sink.pinged.v1 yet"]


def test_where_a_service_owns_a_module_the_picture_says_its_inbox_is_there_when_it_cannot_ask(staff_client, settings):
    pings("req-service-1", ("s", False))
    ModuleOwner.objects.create(module="notifications", owner="notifications", epoch=1, marker_id="m")
    settings.BLIPAY_SERVICES = {}

    _, page = picture(staff_client, "req-service-1")
    assert "side effects run in the notifications service" in page
    assert "not asked, BLIPAY_SERVICES has no address for notifications" in page

    settings.BLIPAY_SERVICES = {"notifications": "http://127.0.0.1:9"}  # nothing listens there
    _, page = picture(staff_client, "req-service-1")
    assert "asking http://127.0.0.1:9/internal/trace/req-service-1 failed" in page


def test_the_internal_trace_refuses_a_request_the_monolith_did_not_sign(client):
    pings("req-internal-1", ("x", False))

    answer = client.get("/internal/trace/req-internal-1")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_an_event_applied_here_that_no_outbox_here_holds_is_drawn_from_the_inbox_with_its_cause(staff_client, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    [root] = pings("req-elsewhere-1", ("root", False))
    emitted_elsewhere = envelope_of(Outbound(SinkSaved(name="far"), subject="far", sequence=1))  # not in this outbox
    emitted_elsewhere = Envelope(
        **(emitted_elsewhere.to_dict() | {"correlation_id": "req-elsewhere-1", "causation_id": root.id})
    )
    deliver("sink", emitted_elsewhere)

    svg, page = picture(staff_client, "req-elsewhere-1")

    assert f"sink.saved.v1 id {emitted_elsewhere.id}" in page
    assert [m for m in marks(svg, "applied") if "sink.saved.v1" in m]
    causes = [line.find(f"{SVG}title").text for line in svg.iter(f"{SVG}line") if line.get("class") == "l-cause"]
    assert causes == []  # the sink never applied its cause here: nothing says which handler emitted it
    assert "caused by sink.pinged.v1" in page


def test_an_applied_event_of_a_type_retired_since_is_still_drawn_by_its_routing_key(staff_client, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    [root] = pings("req-retired-1", ("root", False))
    emitted_elsewhere = envelope_of(Outbound(SinkSaved(name="old"), subject="old", sequence=1))
    emitted_elsewhere = Envelope(
        **(emitted_elsewhere.to_dict() | {"correlation_id": "req-retired-1", "causation_id": root.id})
    )
    deliver("sink", emitted_elsewhere)
    # What an inbox row applied under a version this code no longer registers looks like.
    AppliedEvent.objects.filter(key=inbox_id("sink", emitted_elsewhere.id)).update(routing_key="sink.saved.v0")

    svg, page = picture(staff_client, "req-retired-1")

    assert f"sink.saved.v0 id {emitted_elsewhere.id}" in page
    assert [m for m in marks(svg, "applied") if "sink.saved.v0" in m]
    assert "caused by sink.pinged.v1" in page
