import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django_outbox_pattern.models import Published

from blipay.events.outbox import Outbound, emit
from tests.eventsink.events import SinkSaved

pytestmark = pytest.mark.django_db(transaction=True)


def test_outbox_rows_cannot_be_deleted_or_edited_from_the_admin(client, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    with transaction.atomic():
        event = emit(Outbound(SinkSaved(name="kept"), subject="a", sequence=1))[0]
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))

    listing = client.get("/admin/django_outbox_pattern/published/")
    deleted = client.post(
        "/admin/django_outbox_pattern/published/",
        {"action": "delete_selected", "_selected_action": [event.id], "post": "yes"},
    )
    delete_page = client.get(f"/admin/django_outbox_pattern/published/{event.id}/delete/")

    assert listing.status_code == 200
    assert event.id in listing.content.decode()
    assert deleted.status_code in (200, 302)
    assert delete_page.status_code == 403
    assert Published.objects.filter(id=event.id).exists()
