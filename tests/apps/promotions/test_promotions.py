import uuid
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_outbox_pattern.models import Published
from rest_framework.test import APIClient

from apps.promotions.models import CashbackGrant, MerchantReplica, Promotion
from blipay.events.broker import ConfirmingPublisher, OutgoingMessage

pytestmark = pytest.mark.django_db(transaction=True)


def moment(**delta) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


def promotion(merchant_id: str, *, percent: int = 10, max_amount: int = 50_000, **overrides) -> dict:
    return {
        "merchant_id": merchant_id,
        "percent": percent,
        "max_amount": max_amount,
        "starts_at": moment(hours=-1),
        "ends_at": moment(days=7),
        **overrides,
    }


def balance_of(member) -> int:
    return member.client.get(f"/api/v1/members/{member.id}").json()["balance"]["amount"]


def pay(member, merchant, amount: int) -> dict:
    response = member.client.post("/api/v1/payments", {"merchant_id": merchant.id, "amount": amount}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def republish(routing_key: str, **changes) -> None:
    bodies = Published.objects.filter(destination=routing_key).values_list("body", flat=True)
    publisher = ConfirmingPublisher()
    try:
        publisher.publish([OutgoingMessage.from_envelope(body | changes) for body in bodies])
    finally:
        publisher.close()


# --- creating promotions ---------------------------------------------------------------


def test_staff_create_a_promotion_and_it_is_published(staff, register_merchant):
    merchant = register_merchant()
    body = promotion(merchant.id, starts_at="2026-12-01T00:00:00+07:00", ends_at="2026-12-08T00:00:00+07:00")

    response = staff.post("/api/v1/promotions", body, format="json", HTTP_X_REQUEST_ID="promo-1")

    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == {"id", "merchant_id", "percent", "max_amount", "starts_at", "ends_at", "created_at"}
    assert (created["merchant_id"], created["percent"], created["max_amount"]) == (merchant.id, 10, 50_000)
    assert datetime.fromisoformat(created["starts_at"]) == datetime.fromisoformat(body["starts_at"])
    assert datetime.fromisoformat(created["ends_at"]) == datetime.fromisoformat(body["ends_at"])
    event = Published.objects.get(destination="promotion.saved.v1").body
    assert (event["subject"], event["sequence"], event["correlation_id"]) == (created["id"], 1, "promo-1")
    assert event["data"]["percent"] == 10


def test_only_staff_create_promotions(register_member, register_merchant, anon):
    merchant = register_merchant()
    member = register_member()

    as_member = member.client.post("/api/v1/promotions", promotion(merchant.id), format="json")
    as_merchant = merchant.client.post("/api/v1/promotions", promotion(merchant.id), format="json")
    as_nobody = anon.post("/api/v1/promotions", promotion(merchant.id), format="json")

    assert (as_member.status_code, as_member.json()["error"]["code"]) == (403, "forbidden")
    assert as_merchant.status_code == 403
    assert (as_nobody.status_code, as_nobody.json()["error"]["code"]) == (401, "unauthenticated")
    assert not Promotion.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"percent": "10"}, "percent"),
        ({"percent": 10.5}, "percent"),
        ({"percent": True}, "percent"),
        ({"percent": 0}, "percent"),
        ({"percent": 101}, "percent"),
        ({"max_amount": "5000"}, "max_amount"),
        ({"max_amount": 0}, "max_amount"),
        ({"max_amount": 1_000_000_001}, "max_amount"),
        ({"merchant_id": "not-a-uuid"}, "merchant_id"),
        ({"starts_at": "yesterday"}, "starts_at"),
        ({"starts_at": "2026-12-01T00:00:00"}, "starts_at"),
        ({"starts_at": "2026-12-08T00:00:00+07:00", "ends_at": "2026-12-01T00:00:00+07:00"}, "ends_at"),
        ({"starts_at": "2026-12-01T00:00:00+07:00", "ends_at": "2026-12-01T00:00:00+07:00"}, "ends_at"),
    ],
)
def test_invalid_promotion_is_refused_naming_the_field(staff, register_merchant, change, field):
    merchant = register_merchant()

    response = staff.post("/api/v1/promotions", promotion(merchant.id) | change, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert not Promotion.objects.exists()


def test_missing_fields_are_each_named(staff):
    response = staff.post("/api/v1/promotions", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"merchant_id", "percent", "max_amount", "starts_at", "ends_at"}


def test_a_promotion_for_an_unknown_merchant_is_refused(staff):
    response = staff.post("/api/v1/promotions", promotion("8f5c2a52-3f7e-4b8e-9a55-2a0f3a8f1c11"), format="json")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "merchant_not_found"
    assert not Promotion.objects.exists()


def test_the_same_idempotency_key_creates_one_promotion(staff, register_merchant):
    body = promotion(register_merchant().id)

    first = staff.post("/api/v1/promotions", body, format="json", HTTP_IDEMPOTENCY_KEY="promo-k1")
    again = staff.post("/api/v1/promotions", body, format="json", HTTP_IDEMPOTENCY_KEY="promo-k1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Promotion.objects.count() == 1


# --- cashback --------------------------------------------------------------------------


def test_payment_at_merchant_with_running_promotion_earns_cashback_on_the_balance(
    staff, register_member, register_merchant, credit, pump
):
    merchant = register_merchant()
    staff.post("/api/v1/promotions", promotion(merchant.id, percent=10), format="json")
    ani = register_member()
    credit(ani, 100_000)

    payment = pay(ani, merchant, 30_005)
    pump()

    assert balance_of(ani) == 100_000 - 30_005 + 3_000  # 10% of 30,005 rounded down
    history = ani.client.get(f"/api/v1/members/{ani.id}/transactions").json()["results"]
    assert [(t["kind"], t["amount"]) for t in history] == [
        ("cashback", 3_000),
        ("payment", -30_005),
        ("topup", 100_000),
    ]
    [granted] = Published.objects.filter(destination="cashback.granted.v1").values_list("body", flat=True)
    assert granted["data"] | {"id": None, "promotion_id": None} == {
        "id": None,
        "promotion_id": None,
        "payment_id": payment["id"],
        "member_id": ani.id,
        "merchant_id": merchant.id,
        "amount": 3_000,
    }


@pytest.mark.parametrize(
    "window",
    [
        {"starts_at": moment(days=1), "ends_at": moment(days=2)},
        {"starts_at": moment(days=-2), "ends_at": moment(days=-1)},
    ],
    ids=["not-started-yet", "already-ended"],
)
def test_payment_outside_the_promotions_window_earns_nothing(
    staff, register_member, register_merchant, credit, pump, window
):
    merchant = register_merchant()
    assert staff.post("/api/v1/promotions", promotion(merchant.id) | window, format="json").status_code == 201
    ani = register_member()
    credit(ani, 100_000)

    pay(ani, merchant, 30_000)
    pump()

    assert balance_of(ani) == 70_000
    assert not CashbackGrant.objects.exists()


def test_payment_at_another_merchant_earns_nothing(staff, register_member, register_merchant, credit, pump):
    promoted, other = register_merchant(), register_merchant("Toko Lain")
    staff.post("/api/v1/promotions", promotion(promoted.id), format="json")
    ani = register_member()
    credit(ani, 100_000)

    pay(ani, other, 30_000)
    pump()

    assert balance_of(ani) == 70_000


def test_cashback_is_capped_by_the_promotions_max_amount(staff, register_member, register_merchant, credit, pump):
    merchant = register_merchant()
    staff.post("/api/v1/promotions", promotion(merchant.id, percent=50, max_amount=5_000), format="json")
    ani = register_member()
    credit(ani, 100_000)

    pay(ani, merchant, 30_000)
    pump()

    assert balance_of(ani) == 75_000


def test_of_several_running_promotions_the_most_generous_applies_once(
    staff, register_member, register_merchant, credit, pump
):
    merchant = register_merchant()
    for percent, cap in ((5, 50_000), (20, 4_000), (10, 50_000)):
        staff.post("/api/v1/promotions", promotion(merchant.id, percent=percent, max_amount=cap), format="json")
    ani = register_member()
    credit(ani, 100_000)

    pay(ani, merchant, 50_000)  # earns 2,500 / 4,000 / 5,000
    pump()

    assert balance_of(ani) == 55_000
    assert CashbackGrant.objects.get().promotion.percent == 10


def test_a_payment_too_small_to_earn_a_rupiah_earns_nothing(staff, register_member, register_merchant, credit, pump):
    merchant = register_merchant()
    staff.post("/api/v1/promotions", promotion(merchant.id, percent=1), format="json")
    ani = register_member()
    credit(ani, 100_000)

    pay(ani, merchant, 99)
    pump()

    assert balance_of(ani) == 100_000 - 99
    assert not CashbackGrant.objects.exists()


def test_a_refund_does_not_earn_cashback_again(staff, register_member, register_merchant, credit, pump):
    merchant = register_merchant()
    staff.post("/api/v1/promotions", promotion(merchant.id), format="json")
    ani = register_member()
    credit(ani, 100_000)
    payment = pay(ani, merchant, 30_000)
    pump()

    merchant.client.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": 10_000}, format="json")
    pump()

    assert balance_of(ani) == 100_000 - 30_000 + 3_000 + 10_000
    assert CashbackGrant.objects.count() == 1


@pytest.mark.parametrize("as_a_new_event", [False, True], ids=["redelivered", "re-emitted-with-a-new-id"])
def test_a_replayed_payment_made_credits_the_cashback_once(
    staff, register_member, register_merchant, credit, pump, as_a_new_event
):
    merchant = register_merchant()
    staff.post("/api/v1/promotions", promotion(merchant.id), format="json")
    ani = register_member()
    credit(ani, 100_000)
    pay(ani, merchant, 30_000)
    pump()
    assert balance_of(ani) == 73_000

    # Redelivered, the inbox recognises the event; with a new id only the grant's unique
    # payment_id stands between the payment and a second cashback.
    republish("payment.made.v1", **({"id": "0b9f6a3e-8a43-4a44-9d5c-0d8b5b7f6e21"} if as_a_new_event else {}))
    assert pump() > 0

    assert balance_of(ani) == 73_000
    assert CashbackGrant.objects.count() == 1
    assert Published.objects.filter(destination="cashback.granted.v1").count() == 1


def test_replay_rebuilds_the_merchant_replica(staff, register_merchant):
    merchant = register_merchant("Warung Kopi")
    MerchantReplica.objects.all().delete()

    call_command("events", "replay", "promotions", stdout=StringIO())

    assert MerchantReplica.objects.get(id=merchant.id).name == "Warung Kopi"
    assert staff.post("/api/v1/promotions", promotion(merchant.id), format="json").status_code == 201


def test_a_promotion_for_a_merchant_just_registered_is_created_before_the_event_arrives(staff, anon):
    registered = anon.post("/api/v1/merchants", {"name": "Warung Baru", "email": "baru@merchant.id"}, format="json")
    assert registered.status_code == 201
    merchant_id = registered.json()["id"]
    assert not MerchantReplica.objects.filter(id=merchant_id).exists()  # merchant.saved not consumed yet

    response = staff.post("/api/v1/promotions", promotion(merchant_id), format="json")

    assert response.status_code == 201
    assert response.json()["merchant_id"] == merchant_id


def test_a_promotion_for_a_merchant_nobody_registered_is_422(staff):
    response = staff.post("/api/v1/promotions", promotion(str(uuid.uuid4())), format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (422, "merchant_not_found")


# --- staff tokens ----------------------------------------------------------------------


def test_staff_token_command_issues_a_token_that_creates_promotions(register_merchant):
    get_user_model().objects.create_user("boss", password="x", is_staff=True)
    out = StringIO()

    call_command("staff_token", "boss", stdout=out, stderr=StringIO())

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    assert client.post("/api/v1/promotions", promotion(register_merchant().id), format="json").status_code == 201


@pytest.mark.parametrize("username", ["nobody", "clerk"])
def test_staff_token_command_refuses_unknown_and_non_staff_users(username):
    get_user_model().objects.create_user("clerk", password="x")

    with pytest.raises(CommandError):
        call_command("staff_token", username, stdout=StringIO(), stderr=StringIO())
