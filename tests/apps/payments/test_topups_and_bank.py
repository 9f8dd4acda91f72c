import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_outbox_pattern.models import Published

from apps.payments.models import BankNotification
from apps.payments.services import topups_expire
from tests.apps.conftest import bank_post

pytestmark = pytest.mark.django_db(transaction=True)


def _confirmation(topup: dict, **changes) -> dict:
    return {
        "reference": topup["reference"],
        "amount": topup["amount"],
        "status": "paid",
        "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
        "paid_at": "2026-11-25T10:00:00+07:00",
    } | changes


def _balance(member) -> int:
    return member.client.get(f"/api/v1/members/{member.id}").json()["balance"]["amount"]


def test_a_member_asks_for_a_top_up_and_gets_a_reference_to_quote(register_member):
    ani = register_member()

    response = ani.client.post("/api/v1/topups", {"amount": 150_000}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["amount"] == 150_000
    assert body["reference"].startswith("BLP")
    assert body["expires_at"] > body["created_at"]
    assert ani.client.get(f"/api/v1/topups/{body['id']}").json()["status"] == "pending"


@pytest.mark.parametrize("amount", ["1000", 1000.0, 10.5, True, 0, -5, 1_000_000_001, None])
def test_an_amount_that_is_not_a_positive_whole_rupiah_is_refused(register_member, amount):
    ani = register_member()

    response = ani.client.post("/api/v1/topups", {"amount": amount}, format="json")

    assert response.status_code == 400
    assert "amount" in response.json()["error"]["fields"]


def test_someone_elses_top_up_answers_404(register_member):
    ani, budi = register_member(), register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 10_000}, format="json").json()

    assert budi.client.get(f"/api/v1/topups/{topup['id']}").status_code == 404


def test_the_banks_confirmation_pays_the_top_up_and_credits_the_balance(register_member, anon, pump):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 150_000}, format="json").json()

    response = bank_post(anon, _confirmation(topup))

    assert response.status_code == 200
    assert response.json() == {"outcome": "credited", "topup_id": topup["id"], "reference": topup["reference"]}
    assert ani.client.get(f"/api/v1/topups/{topup['id']}").json()["status"] == "paid"
    pump()
    assert _balance(ani) == 150_000


def test_the_bank_retrying_the_same_transaction_gets_the_first_answer_and_credits_once(register_member, anon, pump):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    confirmation = _confirmation(topup)

    answers = [bank_post(anon, confirmation) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[1].json() == answers[0].json() == answers[2].json()
    pump()
    assert _balance(ani) == 50_000


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1,v1=00",
        "garbage",
        f"t={int(time.time())},v1={'0' * 64}",
    ],
)
def test_a_bad_or_missing_signature_is_401_and_changes_nothing(register_member, anon, signature):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()

    response = bank_post(anon, _confirmation(topup), signature=signature or " ")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert ani.client.get(f"/api/v1/topups/{topup['id']}").json()["status"] == "pending"
    assert not BankNotification.objects.exists()


def test_a_signature_older_than_five_minutes_is_refused(register_member, anon, settings):
    import json

    from apps.payments.signatures import bank_signature

    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    body = _confirmation(topup)
    stale = bank_signature(raw_body=json.dumps(body).encode(), timestamp=int(time.time()) - 301)

    assert bank_post(anon, body, signature=stale).status_code == 401


def test_during_a_secret_rotation_a_confirmation_signed_with_the_previous_secret_credits(
    register_member, anon, settings
):
    import json

    from apps.payments.signatures import bank_signature

    settings.BLIPAY_BANK_WEBHOOK_SECRET, settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = "new", "old"
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    body = _confirmation(topup)
    signed_with = {
        secret: bank_signature(raw_body=json.dumps(body).encode(), timestamp=int(time.time()), secret=secret)
        for secret in ("old", "neither")
    }

    assert bank_post(anon, body, signature=signed_with["neither"]).status_code == 401
    assert bank_post(anon, body, signature=signed_with["old"]).json()["outcome"] == "credited"


def test_an_unknown_reference_is_404_and_recorded_for_the_admin(anon):
    response = bank_post(anon, _confirmation({"reference": "BLPNOSUCHREF", "amount": 10_000}))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_reference"
    assert BankNotification.objects.get().outcome == BankNotification.UNKNOWN_REFERENCE


def test_an_amount_different_from_the_top_up_is_422_recorded_and_credits_nothing(register_member, anon, pump):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()

    response = bank_post(anon, _confirmation(topup, amount=49_000))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "amount_mismatch"
    assert BankNotification.objects.get().outcome == BankNotification.AMOUNT_MISMATCH
    pump()
    assert _balance(ani) == 0
    assert ani.client.get(f"/api/v1/topups/{topup['id']}").json()["status"] == "pending"


@pytest.mark.parametrize(
    ("first", "status", "outcome"),
    [("unknown reference", 404, "unknown_reference"), ("another amount", 422, "amount_mismatch")],
)
def test_the_bank_retrying_a_refused_transaction_gets_200_with_the_first_outcome_and_nothing_credited(
    register_member, anon, pump, first, status, outcome
):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    sent = (
        _confirmation({"reference": "BLPNOSUCHREF", "amount": 50_000})
        if first == "unknown reference"
        else _confirmation(topup, amount=49_000)
    )

    refused = bank_post(anon, sent)
    repeats = [bank_post(anon, sent) for _ in range(2)]

    assert (refused.status_code, refused.json()["error"]["code"]) == (status, outcome)
    assert [r.status_code for r in repeats] == [200, 200]
    assert repeats[0].json() == repeats[1].json()
    assert repeats[0].json()["outcome"] == outcome
    assert repeats[0].json()["message"] == refused.json()["error"]["message"]
    assert BankNotification.objects.count() == 1
    pump()
    assert _balance(ani) == 0


def test_a_second_transfer_for_a_paid_top_up_is_refused_and_credits_nothing(register_member, anon, pump):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    bank_post(anon, _confirmation(topup))

    response = bank_post(anon, _confirmation(topup))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "topup_already_paid"
    assert response.json()["error"]["message"] == (
        "This top-up was already paid by another transfer; nothing was credited."
    )
    pump()
    assert _balance(ani) == 50_000


def test_a_top_up_paid_after_it_expired_is_credited_and_announced_in_sequence(register_member, anon, pump):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    topups_expire(now=timezone.now() + timedelta(days=30))

    answer = bank_post(anon, _confirmation(topup, paid_at="2026-11-25T10:00:00+07:00"))

    assert answer.json() == {"outcome": "credited", "topup_id": topup["id"], "reference": topup["reference"]}
    shown = ani.client.get(f"/api/v1/topups/{topup['id']}").json()
    assert (shown["status"], shown["paid_at"]) == ("paid", "2026-11-25T10:00:00+07:00")
    saved = Published.objects.filter(destination="topup.saved.v1", body__subject=topup["id"])
    announced = sorted((row.body["sequence"], row.body["data"]["status"]) for row in saved)
    assert announced == [(1, "pending"), (2, "expired"), (3, "paid")]
    pump()
    assert _balance(ani) == 50_000


def test_a_confirmation_with_missing_fields_is_400(anon):
    response = bank_post(anon, {"reference": "BLPX", "status": "paid"})

    assert response.status_code == 400
    assert {"amount", "bank_transaction_id", "paid_at"} <= set(response.json()["error"]["fields"])


def test_an_unpaid_top_up_expires_yet_money_that_still_arrives_is_credited(register_member, anon, pump):
    from datetime import timedelta

    from django.utils import timezone

    from apps.payments.models import TopUp
    from apps.payments.tasks import expire_topups

    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 20_000}, format="json").json()
    TopUp.objects.filter(id=topup["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert expire_topups() == 1
    assert ani.client.get(f"/api/v1/topups/{topup['id']}").json()["status"] == "expired"

    assert bank_post(anon, _confirmation(topup)).status_code == 200
    pump()
    assert _balance(ani) == 20_000
