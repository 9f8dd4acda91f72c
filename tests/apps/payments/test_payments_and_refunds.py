import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_outbox_pattern.models import Published

from apps.payments.models import MerchantReplica

pytestmark = pytest.mark.django_db(transaction=True)


def _balance(member) -> int:
    return member.client.get(f"/api/v1/members/{member.id}").json()["balance"]["amount"]


def _pay(member, merchant, amount: int, **extra):
    body = {"merchant_id": merchant.id, "amount": amount, **extra}
    return member.client.post("/api/v1/payments", body, format="json")


def test_a_member_pays_a_merchant_from_the_balance(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 100_000)

    response = _pay(ani, kopi, 35_000, description="2 kopi susu")

    assert response.status_code == 201
    body = response.json()
    assert body["member_id"] == ani.id
    assert body["merchant_id"] == kopi.id
    assert (body["amount"], body["refunded_amount"], body["status"]) == (35_000, 0, "succeeded")
    pump()
    assert _balance(ani) == 65_000


def test_a_payment_is_announced_once_as_payment_made_and_its_refunds_are_not(
    register_member, register_merchant, credit
):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 100_000)
    payment = _pay(ani, kopi, 35_000).json()

    kopi.client.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": 5_000}, format="json")

    [made] = Published.objects.filter(destination="payment.made.v1").values_list("body", flat=True)
    assert made["data"] | {"paid_at": payment["created_at"]} == {
        "payment_id": payment["id"],
        "member_id": ani.id,
        "merchant_id": kopi.id,
        "amount": 35_000,
        "paid_at": payment["created_at"],
    }
    assert list(Published.objects.filter(destination="payment.saved.v1").values_list("body__sequence", flat=True)) == [
        1,
        2,
    ]


def test_not_enough_balance_is_422_and_nothing_changes(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 10_000)

    response = _pay(ani, kopi, 10_001)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "insufficient_balance"
    pump()
    assert _balance(ani) == 10_000
    history = ani.client.get(f"/api/v1/members/{ani.id}/transactions").json()["results"]
    assert [t["kind"] for t in history] == ["topup"]


def test_paying_an_unknown_merchant_is_422(register_member, credit):
    ani = register_member()
    credit(ani, 10_000)

    response = ani.client.post("/api/v1/payments", {"merchant_id": str(uuid.uuid4()), "amount": 1}, format="json")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "merchant_not_found"


def test_a_merchant_is_payable_as_soon_as_its_registration_answered(anon, register_member, credit, pump):
    ani = register_member()
    credit(ani, 10_000)
    registered = anon.post("/api/v1/merchants", {"name": "Warung Baru", "email": "baru@merchant.id"}, format="json")
    assert registered.status_code == 201
    merchant_id = registered.json()["id"]
    assert not MerchantReplica.objects.filter(id=merchant_id).exists()  # merchant.saved not consumed yet

    response = ani.client.post("/api/v1/payments", {"merchant_id": merchant_id, "amount": 4_000}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["merchant_id"] == merchant_id
    pump()
    assert _balance(ani) == 6_000
    assert MerchantReplica.objects.get(id=merchant_id).name == "Warung Baru"  # the replica catches up


def test_only_members_pay(register_merchant):
    kopi = register_merchant()

    response = kopi.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 1}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_payment_is_visible_to_its_member_its_merchant_and_staff_only(
    register_member, register_merchant, credit, staff
):
    ani, budi, kopi, bakso = register_member(), register_member(), register_merchant(), register_merchant("Bakso")
    credit(ani, 10_000)
    payment = _pay(ani, kopi, 5_000).json()
    url = f"/api/v1/payments/{payment['id']}"

    assert [c.get(url).status_code for c in (ani.client, kopi.client, staff)] == [200, 200, 200]
    assert [c.get(url).status_code for c in (budi.client, bakso.client)] == [404, 404]


def test_the_merchant_refunds_part_then_the_rest_and_no_more(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 50_000)
    payment = _pay(ani, kopi, 30_000).json()
    refunds = f"/api/v1/payments/{payment['id']}/refunds"

    first = kopi.client.post(refunds, {"amount": 10_000, "reason": "one cup was cold"}, format="json")
    rest = kopi.client.post(refunds, {"amount": 20_000}, format="json")
    more = kopi.client.post(refunds, {"amount": 1}, format="json")

    assert first.status_code == 201
    assert set(first.json()) == {"id", "payment_id", "amount", "reason", "status", "created_at"}
    assert (first.json()["payment_id"], first.json()["status"]) == (payment["id"], "succeeded")
    assert rest.status_code == 201
    assert more.status_code == 422
    assert more.json()["error"]["code"] == "refund_exceeds_payment"
    assert kopi.client.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 30_000
    pump()
    assert _balance(ani) == 50_000


def test_only_the_payments_merchant_or_staff_refund(register_member, register_merchant, credit, staff):
    ani, kopi, bakso = register_member(), register_merchant(), register_merchant("Bakso")
    credit(ani, 10_000)
    payment = _pay(ani, kopi, 5_000).json()
    refunds = f"/api/v1/payments/{payment['id']}/refunds"

    assert bakso.client.post(refunds, {"amount": 1}, format="json").status_code == 404
    assert ani.client.post(refunds, {"amount": 1}, format="json").status_code == 403
    assert staff.post(refunds, {"amount": 1}, format="json").status_code == 201


def test_the_same_idempotency_key_and_body_replays_the_first_payment(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 10_000)
    body = {"merchant_id": kopi.id, "amount": 4_000}

    first = ani.client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    again = ani.client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    other_body = ani.client.post("/api/v1/payments", {**body, "amount": 1}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"
    pump()
    assert _balance(ani) == 6_000


def test_an_idempotent_refusal_is_replayed_too(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    body = {"merchant_id": kopi.id, "amount": 4_000}

    refused = ani.client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")
    credit(ani, 10_000)
    again = ani.client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")

    assert refused.status_code == again.status_code == 422
    assert again.json() == refused.json()


def test_idempotency_keys_are_per_caller(register_member, register_merchant, credit):
    ani, budi, kopi = register_member(), register_member(), register_merchant()
    credit(ani, 10_000)
    credit(budi, 10_000)
    body = {"merchant_id": kopi.id, "amount": 1_000}

    a = ani.client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    b = budi.client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


def test_the_ledger_history_is_paginated_newest_first(register_member, register_merchant, credit):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 100_000)
    for amount in range(1_000, 6_000, 1_000):
        _pay(ani, kopi, amount)

    first = ani.client.get(f"/api/v1/members/{ani.id}/transactions?limit=4").json()
    second = ani.client.get(first["next"]).json()

    assert [t["amount"] for t in first["results"]] == [-5_000, -4_000, -3_000, -2_000]
    assert [t["amount"] for t in second["results"]] == [-1_000, 100_000]
    assert second["next"] is None


def test_the_members_history_shows_each_movement_with_its_sign_balance_and_description(
    register_member, register_merchant, fund, staff, pump
):
    ani, kopi = register_member(), register_merchant()
    now = timezone.now()
    promotion = {"merchant_id": kopi.id, "percent": 10, "max_amount": 50_000}
    window = {"starts_at": (now - timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
    assert staff.post("/api/v1/promotions", {**promotion, **window}, format="json").status_code == 201
    pump()
    topup = fund(ani, 100_000)
    named = _pay(ani, kopi, 30_000, description="2 kopi susu").json()
    plain = _pay(ani, kopi, 10_000).json()
    pump()  # the cashbacks
    refunds = "/api/v1/payments/{}/refunds"
    reason = {"amount": 5_000, "reason": "cold"}
    assert kopi.client.post(refunds.format(named["id"]), reason, format="json").status_code == 201
    assert kopi.client.post(refunds.format(plain["id"]), {"amount": 1_000}, format="json").status_code == 201

    history = ani.client.get(f"/api/v1/members/{ani.id}/transactions").json()["results"]

    lines = [(t["kind"], t["amount"], t["balance_after"], t["description"]) for t in reversed(history)]
    assert lines == [
        ("topup", 100_000, 100_000, "Top-up by bank transfer"),
        ("payment", -30_000, 70_000, "2 kopi susu"),
        ("payment", -10_000, 60_000, "Payment"),
        ("cashback", 3_000, 63_000, "Cashback"),
        ("cashback", 1_000, 64_000, "Cashback"),
        ("refund", 5_000, 69_000, "cold"),
        ("refund", 1_000, 70_000, "Refund"),
    ]
    assert history[-1]["reference"] == topup["id"]
    assert {t["reference"] for t in history if t["kind"] == "payment"} == {named["id"], plain["id"]}
