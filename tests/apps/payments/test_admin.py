import uuid

import pytest

from apps.payments.models import BankNotification, Payment, Refund, TopUp
from tests.apps.conftest import bank_post

pytestmark = pytest.mark.django_db(transaction=True)
# admin_client: pytest-django's, a superuser logged in with force_login.


def confirm(anon, reference, amount):
    body = {
        "reference": reference,
        "amount": amount,
        "status": "paid",
        "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
        "paid_at": "2026-11-25T10:00:00+07:00",
    }
    return bank_post(anon, body)


@pytest.fixture
def notifications(register_member, anon):
    """One credited confirmation and two refused ones (wrong amount, unknown reference)."""
    member = register_member()
    topup = member.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    assert confirm(anon, topup["reference"], 49_000).status_code == 422
    assert confirm(anon, "BLPNOSUCHTHING", 10_000).status_code == 404
    assert confirm(anon, topup["reference"], 50_000).status_code == 200
    return topup


def listed(admin_client, query):
    response = admin_client.get(f"/admin/payments/banknotification/{query}")
    assert response.status_code == 200
    return response.context["cl"].result_list


def test_refused_bank_notifications_are_one_filter_away(admin_client, notifications):
    refused = listed(admin_client, "?result=refused")

    assert sorted(row.outcome for row in refused) == [
        BankNotification.AMOUNT_MISMATCH,
        BankNotification.UNKNOWN_REFERENCE,
    ]
    assert [row.outcome for row in listed(admin_client, "?result=credited")] == [BankNotification.CREDITED]


def test_bank_notifications_filter_by_outcome(admin_client, notifications):
    rows = listed(admin_client, f"?outcome__exact={BankNotification.AMOUNT_MISMATCH}")

    assert [(row.reference, row.amount) for row in rows] == [(notifications["reference"], 49_000)]


def test_refused_bank_notification_shows_reason_status_code_and_response(admin_client, notifications):
    page = admin_client.get("/admin/payments/banknotification/?result=refused").content.decode()
    assert "The top-up is for 50000, the transfer was 49000; nothing was credited." in page
    assert "No top-up has this reference." in page
    assert ">422<" in page
    assert ">404<" in page

    row = BankNotification.objects.get(outcome=BankNotification.AMOUNT_MISMATCH)
    detail = admin_client.get(f"/admin/payments/banknotification/{row.pk}/change/").content.decode()
    assert "amount_mismatch" in detail  # the response body we sent back
    assert "49000" in detail  # the bank's body


def test_bank_notifications_search_by_reference(admin_client, notifications):
    rows = listed(admin_client, f"?q={notifications['reference']}")

    assert len(rows) == 2


def test_payments_admin_is_read_only(admin_client, register_member, register_merchant, fund):
    member, kopi = register_member(), register_merchant()
    fund(member, 10_000)
    payment = member.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 5_000}, format="json").json()
    kopi.client.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": 1_000}, format="json")
    rows = {
        "topup": TopUp.objects.first().pk,
        "banknotification": BankNotification.objects.first().pk,
        "payment": Payment.objects.first().pk,
        "refund": Refund.objects.first().pk,
        "merchantreplica": kopi.id,
    }
    for model, pk in rows.items():
        base = f"/admin/payments/{model}/"
        assert admin_client.get(base).status_code == 200
        assert admin_client.get(f"{base}?q=x").status_code == 200
        assert admin_client.get(f"{base}{pk}/change/").status_code == 200
        assert admin_client.get(f"{base}add/").status_code == 403
        assert admin_client.post(f"{base}{pk}/change/", {}).status_code == 403
        assert admin_client.post(f"{base}{pk}/delete/", {"post": "yes"}).status_code == 403
    payment_page = admin_client.get(f"/admin/payments/payment/{payment['id']}/change/").content.decode()
    assert f"Warung Kopi ({kopi.id})" in payment_page  # the merchant, from the payments module's replica
    assert "refunds-group" in payment_page  # its refunds inline
    assert Payment.objects.get().refunded_amount == 1_000
