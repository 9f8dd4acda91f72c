"""What a newcomer meets in the admin: Blipay's name, the outbox and inbox named for people,
times with their zone; and who may not get in."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client

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
    assert ">Failed deliveries</a>" in page
    assert "Publisheds" not in page
    assert "Receiveds" not in page


def test_outbox_list_shows_times_with_their_zone(staff_client, settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    with transaction.atomic():
        emit(Outbound(SinkSaved(name="a"), subject="a", sequence=1))

    page = staff_client.get("/admin/django_outbox_pattern/published/").content.decode()

    assert "Select outbox event to view" in page
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d WIB", page)  # Asia/Jakarta


ADMIN_PAGES = [
    "/admin/",
    "/admin/auth/user/",
    "/admin/notifications/notification/",
    "/admin/django_outbox_pattern/published/",
    "/admin/identity/credential/",
]


def test_a_logged_in_user_who_is_not_staff_reaches_no_admin_page(client, staff_client):
    assert [staff_client.get(page).status_code for page in ADMIN_PAGES] == [200] * len(ADMIN_PAGES)
    client = Client()
    client.force_login(User.objects.create_user("ani", "ani@example.com", "pw"))

    for page in ADMIN_PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/"), page
    posted = client.post("/admin/auth/user/add/", {"username": "mallory", "password1": "x", "password2": "x"})
    assert posted.status_code == 302
    assert not User.objects.filter(username="mallory").exists()


def test_an_admin_form_posted_without_its_csrf_token_is_refused():
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    form = {
        "username": "mallory",
        "password1": "Long-enough-pw-1",
        "password2": "Long-enough-pw-1",
        "usable_password": "true",
    }

    forged = browser.post("/admin/auth/user/add/", form)
    assert forged.status_code == 403
    assert browser.post("/admin/login/", {"username": "ops", "password": "pw"}).status_code == 403
    assert not User.objects.filter(username="mallory").exists()

    browser.get("/admin/auth/user/add/")  # the form sets the CSRF cookie; sent back, the same post works
    token = browser.cookies["csrftoken"].value
    assert browser.post("/admin/auth/user/add/", {**form, "csrfmiddlewaretoken": token}).status_code == 302
    assert User.objects.filter(username="mallory").exists()
