"""Idempotency-Key misused: a key held by a request still running, a key past its
retention, a key another caller (anonymous ones included) happens to use, a key too long.
The same key with another body (422) and the per-caller scope between members are in
tests/apps/payments/test_payments_and_refunds.py."""

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from blipay.api.idempotency import RETENTION, forget_old_keys
from blipay.api.models import IdempotencyRecord

pytestmark = pytest.mark.django_db(transaction=True)


def _topup(member, key: str, amount: int = 10_000):
    return member.client.post("/api/v1/topups", {"amount": amount}, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.postgres
def test_a_request_while_the_first_with_its_key_still_runs_is_409_then_the_retry_replays(register_member):
    ani = register_member()
    first = _topup(ani, "topup-1")
    holding, release = threading.Event(), threading.Event()

    def first_still_running() -> None:
        # What the first request holds while it runs: its reservation's row lock.
        with transaction.atomic():
            _record("topup-1").select_for_update().get()
            holding.set()
            release.wait(10)
        connection.close()

    runner = threading.Thread(target=first_still_running)
    runner.start()
    assert holding.wait(10)
    try:
        during = _topup(ani, "topup-1")
    finally:
        release.set()
        runner.join(10)
    after = _topup(ani, "topup-1")

    assert during.status_code == 409
    assert during.json()["error"]["code"] == "idempotency_key_in_use"
    assert (after.status_code, after.json(), after["Idempotent-Replayed"]) == (201, first.json(), "true")


def _record(key: str):
    return IdempotencyRecord.objects.filter(key=hashlib.sha256(key.encode()).hexdigest())  # kept as its hash


def _age(record, by: timedelta) -> None:
    record.update(created_at=record.get().created_at - by)


def test_a_key_is_kept_a_day_and_forgotten_after_its_retention(register_member):
    ani = register_member()
    kept, forgotten = _topup(ani, "kept"), _topup(ani, "forgotten")
    _age(_record("kept"), timedelta(hours=24))
    _age(_record("forgotten"), RETENTION + timedelta(minutes=1))

    assert forget_old_keys() == 1
    replayed = _topup(ani, "kept", amount=20_000)
    fresh = _topup(ani, "forgotten", amount=20_000)

    assert replayed.status_code == 422  # still remembered: another body is a misuse
    assert replayed.json()["error"]["code"] == "idempotency_key_reused"
    assert fresh.status_code == 201  # forgotten: a new request like any other
    assert fresh.json()["id"] != forgotten.json()["id"]
    assert kept.status_code == 201


def test_a_key_longer_than_255_characters_is_400_naming_it(register_member):
    ani = register_member()

    response = _topup(ani, "k" * 256)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert _topup(ani, "k" * 255).status_code == 201
