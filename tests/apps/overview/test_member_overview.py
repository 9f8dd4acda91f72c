import pytest
from django.core.management import call_command

from apps.overview.models import MemberOverview, TransactionLine

pytestmark = pytest.mark.django_db(transaction=True)


def test_member_and_balance_are_served_from_the_read_model(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 40_000)
    ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 15_000}, format="json")
    pump()
    MemberOverview.objects.filter(member_id=ani.id).update(balance=123)  # what the API shows comes from here

    assert ani.client.get(f"/api/v1/members/{ani.id}").json()["balance"]["amount"] == 123


def test_the_read_model_is_rebuilt_from_scratch_by_replaying_events(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 40_000)
    ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 15_000}, format="json")
    ani.client.patch(f"/api/v1/members/{ani.id}", {"name": "Ani Baru"}, format="json")
    pump()
    before = ani.client.get(f"/api/v1/members/{ani.id}").json()
    MemberOverview.objects.all().delete()
    TransactionLine.objects.all().delete()

    call_command("events", "replay", "overview")

    after = ani.client.get(f"/api/v1/members/{ani.id}").json()
    assert after == before
    assert after["name"] == "Ani Baru"
    assert after["balance"]["amount"] == 25_000
    assert [t["kind"] for t in after["recent_transactions"]] == ["payment", "topup"]


def test_a_member_just_registered_is_served_before_the_read_model_catches_up(register_member):
    ani = register_member()  # no pump: the overview has not seen member.saved yet

    response = ani.client.get(f"/api/v1/members/{ani.id}")

    assert response.status_code == 200
    assert response.json()["balance"] == {"amount": 0, "currency": "IDR"}
