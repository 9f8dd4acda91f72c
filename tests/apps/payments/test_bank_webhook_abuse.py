"""The bank's webhook attacked over HTTP: a body changed after signing, a signature changed,
no signature header at all, a timestamp too old or too far ahead, a secret that was
retired. Each is 401 and changes nothing. And a signed body carrying what PostgreSQL can't
store (NUL, a lone surrogate) where no field is read: credited, its copy kept readable.
(Replays of the same transfer, an unknown reference, a wrong amount, and rotation's
accepted previous secret are in test_topups_and_bank.py; the signature rules without HTTP
in test_bank_signatures.py.)"""

import json
import time
import uuid

import pytest

from apps.payments.models import BankNotification
from apps.payments.signatures import bank_signature

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def confirmation(register_member):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    body = {
        "reference": topup["reference"],
        "amount": 50_000,
        "status": "paid",
        "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
        "paid_at": "2026-11-25T10:00:00+07:00",
    }
    return {"member": ani, "topup": topup, "raw": json.dumps(body).encode()}


def _send(client, raw: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_X_BANK_SIGNATURE": signature}
    return client.generic("POST", "/api/v1/bank/notifications", data=raw, content_type="application/json", **headers)


def _refused_and_nothing_changed(response, confirmation) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    ani = confirmation["member"]
    assert ani.client.get(f"/api/v1/topups/{confirmation['topup']['id']}").json()["status"] == "pending"
    assert not BankNotification.objects.exists()


def test_a_body_changed_after_signing_is_refused(anon, confirmation):
    signature = bank_signature(raw_body=confirmation["raw"], timestamp=int(time.time()))
    tampered = confirmation["raw"].replace(b"50000", b"90000")

    _refused_and_nothing_changed(_send(anon, tampered, signature), confirmation)


def test_a_changed_signature_is_refused(anon, confirmation):
    signature = bank_signature(raw_body=confirmation["raw"], timestamp=int(time.time()))
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")

    _refused_and_nothing_changed(_send(anon, confirmation["raw"], flipped), confirmation)


def test_a_signature_with_another_timestamp_than_signed_is_refused(anon, confirmation):
    now = int(time.time())
    signature = bank_signature(raw_body=confirmation["raw"], timestamp=now)

    _refused_and_nothing_changed(
        _send(anon, confirmation["raw"], signature.replace(f"t={now}", f"t={now - 1}")), confirmation
    )


def test_no_signature_header_is_refused(anon, confirmation):
    _refused_and_nothing_changed(_send(anon, confirmation["raw"], None), confirmation)


@pytest.mark.parametrize("skew", [-301, 301, 10**9], ids=["stale", "future", "far future"])
def test_a_timestamp_more_than_five_minutes_from_now_is_refused(anon, confirmation, skew):
    signature = bank_signature(raw_body=confirmation["raw"], timestamp=int(time.time()) + skew)

    _refused_and_nothing_changed(_send(anon, confirmation["raw"], signature), confirmation)


def test_a_timestamp_a_little_ahead_of_our_clock_is_accepted(anon, confirmation):
    signature = bank_signature(raw_body=confirmation["raw"], timestamp=int(time.time()) + 60)

    assert _send(anon, confirmation["raw"], signature).json()["outcome"] == "credited"


def test_during_a_rotation_both_secrets_are_accepted_and_once_it_ends_the_retired_one_is_not(
    anon, register_member, settings
):
    settings.BLIPAY_BANK_WEBHOOK_SECRET, settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = "new", "old"
    ani = register_member()

    def confirm(secret: str):
        topup = ani.client.post("/api/v1/topups", {"amount": 10_000}, format="json").json()
        raw = json.dumps(
            {
                "reference": topup["reference"],
                "amount": 10_000,
                "status": "paid",
                "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
                "paid_at": "2026-11-25T10:00:00+07:00",
            }
        ).encode()
        return _send(anon, raw, bank_signature(raw_body=raw, timestamp=int(time.time()), secret=secret))

    during = [confirm("new").status_code, confirm("old").status_code]
    settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = ""
    after = [confirm("new").status_code, confirm("old").status_code]

    assert during == [200, 200]
    assert after == [200, 401]


@pytest.mark.parametrize("text", ["\u0000", "\ud800"], ids=["NUL", "lone surrogate"])
def test_a_notification_holding_text_no_database_stores_is_credited_and_kept_with_it_replaced(anon, confirmation, text):
    body = {**json.loads(confirmation["raw"]), f"note{text}": f"from the bank{text}"}
    raw = json.dumps(body).encode()  # \u escapes: valid JSON, signed as sent

    response = _send(anon, raw, bank_signature(raw_body=raw, timestamp=int(time.time())))

    assert response.status_code == 200
    ani = confirmation["member"]
    assert ani.client.get(f"/api/v1/topups/{confirmation['topup']['id']}").json()["status"] == "paid"
    assert BankNotification.objects.get().payload["note\ufffd"] == "from the bank\ufffd"
