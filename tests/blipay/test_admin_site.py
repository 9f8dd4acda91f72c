"""What a newcomer meets in the admin: Blipay's name, the outbox and inbox named for people,
times with their zone."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from blipay.events.outbox import Outbound, emit
from tests.eventsink.events import SinkSaved

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def test_the_admin_says_blipay_and_names_the_outbox_and_inbox(staff_client):
    page = staff_client.get("/admin/").content.decode()

    assert "Blipay administration" in page
    assert "Django administration" not in page
    assert ">Outbox events</a>" in page
    assert ">Inbox</a>" in page
    assert "Publisheds" not in page
    assert "Receiveds" not in page


def test_outbox_list_shows_times_with_their_zone(staff_client, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    with transaction.atomic():
        emit(Outbound(SinkSaved(name="a"), subject="a", sequence=1))

    page = staff_client.get("/admin/django_outbox_pattern/published/").content.decode()

    assert "Select outbox event to view" in page
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d WIB", page)  # Asia/Jakarta
