"""Money under concurrent requests, on PostgreSQL (row locks and unique indexes at work)."""

import threading
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from apps.payments.models import BankNotification
from apps.wallet.models import LedgerTransaction
from tests.apps.conftest import bank_post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _all_at_once(count: int, request: Callable[[int], int]) -> Counter:
    """Run ``request(i)`` in ``count`` threads released together; count the statuses.

    A thread that raises, or is still running after a minute, fails the test: a status
    missing from the count would otherwise pass for a refusal nobody made.
    """
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(30)
            statuses.append(request(i))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not [thread for thread in threads if thread.is_alive()], "a request thread is still running after 60 s"
    if errors:
        raise AssertionError(f"{len(errors)} of {count} request thread(s) raised") from errors[0]
    assert len(statuses) == count
    return Counter(statuses)


def _balance(member) -> int:
    return member.client.get(f"/api/v1/members/{member.id}").json()["balance"]["amount"]


def test_twenty_parallel_payments_on_a_balance_covering_five_let_exactly_five_through(
    register_member, register_merchant, credit, pump
):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 50_000)

    statuses = _all_at_once(
        20,
        lambda i: (
            ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 10_000}, format="json").status_code
        ),
    )

    assert statuses == {201: 5, 422: 15}
    pump()
    assert _balance(ani) == 0


def test_parallel_refunds_past_the_payment_are_capped_at_its_amount(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 100_000)
    payment = ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 30_000}, format="json").json()

    statuses = _all_at_once(
        10,
        lambda i: (
            kopi.client.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": 7_000}, format="json").status_code
        ),
    )

    assert statuses == {201: 4, 422: 6}
    assert kopi.client.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 28_000
    pump()
    assert _balance(ani) == 98_000


def test_the_same_bank_notification_delivered_ten_times_at_once_credits_once(register_member, anon, pump):
    ani = register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 75_000}, format="json").json()
    confirmation = {
        "reference": topup["reference"],
        "amount": 75_000,
        "status": "paid",
        "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
        "paid_at": "2026-11-25T10:00:00+07:00",
    }

    statuses = _all_at_once(10, lambda i: bank_post(anon, confirmation).status_code)

    assert statuses == {200: 10}
    assert LedgerTransaction.objects.filter(kind="topup", member_id=ani.id).count() == 1
    pump()
    assert _balance(ani) == 75_000


def test_the_same_idempotency_key_at_once_has_one_effect(register_member, register_merchant, credit, pump):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 100_000)
    body = {"merchant_id": kopi.id, "amount": 10_000}

    statuses = _all_at_once(
        8,
        lambda i: ani.client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="once").status_code,
    )

    assert statuses[201] >= 1
    assert set(statuses) <= {201, 409}
    assert LedgerTransaction.objects.filter(kind="payment", member_id=ani.id).count() == 1
    pump()
    assert _balance(ani) == 90_000


def test_the_same_notification_for_an_unknown_reference_ten_times_at_once_is_recorded_once(anon):
    # No top-up row to queue on: the unique bank transaction id settles the race. The
    # delivery recorded first is refused; every other one is a repeat, answered 200 with
    # that first outcome (the contract: banks retry until they get a 2xx).
    confirmation = {
        "reference": "BLPNOSUCHREF",
        "amount": 75_000,
        "status": "paid",
        "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
        "paid_at": "2026-11-25T10:00:00+07:00",
    }
    bodies: list[dict] = []

    def deliver(i: int) -> int:
        response = bank_post(anon, confirmation)
        bodies.append(response.json())
        return response.status_code

    statuses = _all_at_once(10, deliver)

    assert statuses == {404: 1, 200: 9}
    refusal = next(body for body in bodies if "error" in body)
    repeats = [body for body in bodies if "error" not in body]
    assert refusal["error"]["code"] == "unknown_reference"
    assert all(body == repeats[0] for body in repeats)
    assert repeats[0]["outcome"] == "unknown_reference"
    assert BankNotification.objects.filter(bank_transaction_id=confirmation["bank_transaction_id"]).count() == 1
