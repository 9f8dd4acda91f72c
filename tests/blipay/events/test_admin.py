"""The backbone's records (outbox, inbox, failed deliveries, applied versions) are what exactly-once rests on:
the admin shows them and can't delete, edit or add one."""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.urls import reverse
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

from blipay.events.consumers import deliver
from blipay.events.inbox import record_failure
from blipay.events.models import AppliedEvent, AppliedVersion
from blipay.events.outbox import Outbound, emit, envelope_of
from tests.eventsink.events import SinkPinged, SinkSaved

pytestmark = pytest.mark.django_db(transaction=True)


def _outbox_row() -> models.Model:
    with transaction.atomic():
        event = emit(Outbound(SinkSaved(name="kept"), subject="a", sequence=1))[0]
    return Published.objects.get(id=event.id)


def _inbox_row(correlation_id: str = "req-admin") -> models.Model:
    event = envelope_of(Outbound(SinkSaved(name="kept"), subject="b", sequence=1))
    deliver("sink", type(event)(**(event.to_dict() | {"correlation_id": correlation_id, "causation_id": "c-1"})))
    return AppliedEvent.objects.get(key=f"sink:{event.id}")


def _failed_row() -> models.Model:
    event = envelope_of(Outbound(SinkSaved(name="kept"), subject="f", sequence=1))
    record_failure("sink", event, attempts=3, error="boom")
    return Received.objects.get(msg_id=f"sink:{event.id}")


def _applied_version() -> models.Model:
    deliver("sink", envelope_of(Outbound(SinkSaved(name="kept"), subject="c", sequence=4)))
    return AppliedVersion.objects.get(consumer="sink", subject="c")


# Each row, and what an edit would try to make of it.
ROWS = {
    "outbox": (_outbox_row, {"status": StatusChoice.SCHEDULE, "retry": 9}),
    "inbox": (_inbox_row, {"consumer": "other", "key": "sink:forged", "attempts": 9}),
    "failed delivery": (_failed_row, {"status": StatusChoice.SUCCEEDED, "msg_id": "sink:forged", "retry": 9}),
    "applied version": (_applied_version, {"sequence": 1, "consumer": "other"}),
}


@pytest.fixture
def ops(client, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def _url(row: models.Model, view: str, *args: object) -> str:
    return reverse(f"admin:{row._meta.app_label}_{row._meta.model_name}_{view}", args=args)


def _state(row: models.Model) -> dict:
    return model_to_dict(type(row).objects.get(pk=row.pk))


@pytest.mark.parametrize("kind", list(ROWS))
def test_a_backbone_record_is_listed_and_shown(ops, kind):
    make, _ = ROWS[kind]
    row = make()

    listing = ops.get(_url(row, "changelist"))
    page = ops.get(_url(row, "change", row.pk))

    assert listing.status_code == page.status_code == 200
    assert quote(str(row.pk)) in listing.content.decode()


@pytest.mark.parametrize("kind", list(ROWS))
def test_a_backbone_record_cannot_be_deleted_from_the_admin(ops, kind):
    make, _ = ROWS[kind]
    row = make()
    before = _state(row)

    selected = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    action = ops.post(_url(row, "changelist"), selected)
    page = ops.get(_url(row, "delete", row.pk))
    confirmed = ops.post(_url(row, "delete", row.pk), {"post": "yes"})

    assert action.status_code in (200, 302)  # the action is not offered: nothing happens
    assert (page.status_code, confirmed.status_code) == (403, 403)
    assert _state(row) == before


@pytest.mark.parametrize("kind", list(ROWS))
def test_a_backbone_record_cannot_be_edited_or_added_from_the_admin(ops, kind):
    make, edit = ROWS[kind]
    row = make()
    before = _state(row)
    count = type(row).objects.count()

    edited = ops.post(_url(row, "change", row.pk), {**before, **edit, "_save": "Save"})
    added = ops.post(_url(row, "add"), {**before, **edit, "_save": "Save"})
    page = ops.get(_url(row, "change", row.pk))

    assert (edited.status_code, added.status_code) == (403, 403)
    assert _state(row) == before
    assert type(row).objects.count() == count
    assert 'name="_save"' not in page.content.decode()  # shown read-only, no form to submit


def test_the_inbox_lists_deliveries_by_consumer_and_event_type(ops):
    saved = _inbox_row()
    pinged = envelope_of(Outbound(SinkPinged(), subject="p", sequence=0))
    deliver("sink", pinged)

    by_type = ops.get(_url(saved, "changelist"), {"type": "sink.pinged.v1"}).content.decode()
    by_consumer = ops.get(_url(saved, "changelist"), {"consumer": "sink"}).content.decode()

    assert pinged.id in by_type and saved.event_id not in by_type
    assert pinged.id in by_consumer and saved.event_id in by_consumer


def test_the_inbox_finds_an_applied_event_by_its_id_or_its_requests_correlation_id(ops):
    found, other = _inbox_row("req-found"), _inbox_row("req-other")

    by_event = ops.get(_url(found, "changelist"), {"q": found.event_id}).content.decode()
    by_request = ops.get(_url(found, "changelist"), {"q": "req-found"}).content.decode()

    for page in (by_event, by_request):
        assert found.event_id in page and other.event_id not in page
        assert "/admin/django_outbox_pattern/published/choreography/req-found/" in page


def test_failed_deliveries_are_listed_with_their_error_and_applied_ones_are_not(ops):
    failed, applied = _failed_row(), _inbox_row()

    listing = ops.get(_url(failed, "changelist")).content.decode()

    assert failed.headers["event_id"] in listing and "boom" in listing
    assert applied.event_id not in listing
