import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.overview.models import MemberOverview, NotificationLine

pytestmark = pytest.mark.django_db(transaction=True)
# admin_client: pytest-django's, a superuser logged in with force_login.


@pytest.fixture
def ani(register_member, register_merchant, credit, pump):
    """A member with a top-up, a payment and a notification line in the read model."""
    member, kopi = register_member(name="Ani Wijaya"), register_merchant()
    credit(member, 100_000)
    paid = member.client.post(
        "/api/v1/payments", {"merchant_id": kopi.id, "amount": 30_000, "description": "kopi susu"}, format="json"
    )
    assert paid.status_code == 201, paid.content
    pump()
    # Fed by notification.sent in production; written here so the page is tested on its own.
    NotificationLine.objects.create(
        id=uuid.uuid4(),
        member_id=member.id,
        kind="payment",
        subject="Payment of Rp 30.000 made",
        created_at=timezone.now() + timedelta(seconds=1),
    )
    return member


def member_page(admin_client, member_id):
    response = admin_client.get(f"/admin/overview/memberoverview/{member_id}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_member_page_shows_profile_balance_ledger_and_notifications_together(admin_client, ani):
    page = member_page(admin_client, ani.id)

    assert "Ani Wijaya" in page
    assert "Rp 70.000" in page  # the balance
    assert "Rp +100.000" in page  # the top-up line
    assert "Rp -30.000" in page  # the payment line
    assert "kopi susu" in page
    assert "Payment of Rp 30.000 made" in page  # the notification line
    assert 'id="member-ledger"' in page
    assert 'id="member-notifications"' in page


def test_member_page_shows_only_that_members_lines(admin_client, ani, register_member, credit):
    budi = register_member(name="Budi Santoso")
    credit(budi, 55_555)

    page = member_page(admin_client, ani.id)

    assert "Rp +55.555" not in page
    assert "Budi Santoso" not in page


def test_member_page_links_each_line_to_the_ledger(admin_client, ani):
    page = member_page(admin_client, ani.id)

    assert "/admin/wallet/ledgertransaction/" in page
    assert f"/admin/wallet/ledgertransaction/?member_id={ani.id}" in page


def test_read_model_cannot_be_edited_in_the_admin(admin_client, ani):
    url = f"/admin/overview/memberoverview/{ani.id}/change/"

    assert admin_client.post(url, {"name": "Hacked", "balance": 1_000_000}).status_code == 403
    assert admin_client.get("/admin/overview/memberoverview/add/").status_code == 403
    assert admin_client.post(f"/admin/overview/memberoverview/{ani.id}/delete/", {"post": "yes"}).status_code == 403
    assert MemberOverview.objects.get(member_id=ani.id).balance == 70_000
    assert 'name="_save"' not in member_page(admin_client, ani.id)


@pytest.mark.parametrize("model", ["memberoverview", "transactionline", "notificationline"])
def test_overview_lists_render_with_search_and_filters(admin_client, ani, model):
    for query in ("", "?q=Ani", f"?q={ani.id}", f"?member_id={ani.id}" if model != "memberoverview" else "?q=x"):
        response = admin_client.get(f"/admin/overview/{model}/{query}")
        assert response.status_code == 200, (query, response.content[:500])


def test_member_page_of_an_unknown_or_malformed_id_redirects_instead_of_failing(admin_client):
    for member_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = admin_client.get(f"/admin/overview/memberoverview/{member_id}/change/")
        assert response.status_code == 302
