"""Every POST of the API honours ``Idempotency-Key``, proven by what a retry does: the same key
and body answer the first response again, marked replayed, and the effect happens once; the
same key with another body is refused. A new POST endpoint fails the first test until a case
for it is added here."""

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from apps.members.models import Member
from apps.merchants.models import Merchant
from apps.payments import api as payments_api
from apps.payments.models import TopUp
from apps.payments.services import topup_create
from apps.promotions.models import Promotion
from apps.wallet.models import LedgerTransaction
from blipay.api.idempotency import RETENTION, forget_old_keys
from blipay.api.models import IdempotencyRecord
from tests.apps.conftest import bank_post

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Case:
    """One POST: who sends it, the body, another body, and how many times its effect happened."""

    post: Callable[[dict, str], Any]  # (body, key) → response
    body: dict
    other_body: dict
    effects: Callable[[], int]


def _poster(client: APIClient, path: str) -> Callable[[dict, str], Any]:
    return lambda body, key: client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _members(w) -> Case:
    email = f"{uuid.uuid4().hex[:10]}@example.id"
    body = {"name": "Ani", "email": email, "phone": "+6281234567890"}
    return Case(
        _poster(w.anon, "/api/v1/members"),
        body,
        {**body, "name": "Budi"},
        lambda: Member.objects.filter(email=email).count(),
    )


def _merchants(w) -> Case:
    email = f"{uuid.uuid4().hex[:10]}@merchant.id"
    body = {"name": "Warung", "email": email}
    return Case(
        _poster(w.anon, "/api/v1/merchants"),
        body,
        {**body, "name": "Toko"},
        lambda: Merchant.objects.filter(email=email).count(),
    )


def _topups(w) -> Case:
    ani = w.register_member()
    return Case(
        _poster(ani.client, "/api/v1/topups"),
        {"amount": 50_000},
        {"amount": 60_000},
        lambda: TopUp.objects.filter(member_id=ani.id).count(),
    )


def _bank_notifications(w) -> Case:
    ani = w.register_member()
    topup = ani.client.post("/api/v1/topups", {"amount": 50_000}, format="json").json()
    body = {
        "reference": topup["reference"],
        "amount": 50_000,
        "status": "paid",
        "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
        "paid_at": "2026-11-25T10:00:00+07:00",
    }
    return Case(
        lambda body, key: bank_post(w.anon, body, HTTP_IDEMPOTENCY_KEY=key),
        body,
        {**body, "bank_transaction_id": "BCA-other"},
        lambda: LedgerTransaction.objects.filter(kind=LedgerTransaction.TOPUP, member_id=ani.id).count(),
    )


def _payments(w) -> Case:
    ani, kopi = w.register_member(), w.register_merchant()
    w.credit(ani, 10_000)
    return Case(
        _poster(ani.client, "/api/v1/payments"),
        {"merchant_id": kopi.id, "amount": 4_000},
        {"merchant_id": kopi.id, "amount": 1_000},
        lambda: LedgerTransaction.objects.filter(kind=LedgerTransaction.PAYMENT, member_id=ani.id).count(),
    )


def _refunds(w) -> Case:
    ani, kopi = w.register_member(), w.register_merchant()
    w.credit(ani, 10_000)
    payment = ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 8_000}, format="json").json()
    return Case(
        _poster(kopi.client, f"/api/v1/payments/{payment['id']}/refunds"),
        {"amount": 3_000},
        {"amount": 2_000},
        lambda: LedgerTransaction.objects.filter(kind=LedgerTransaction.REFUND, member_id=ani.id).count(),
    )


def _promotions(w) -> Case:
    kopi = w.register_merchant()
    now = timezone.now()
    body = {
        "merchant_id": kopi.id,
        "percent": 10,
        "max_amount": 50_000,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
    }
    return Case(
        _poster(w.staff, "/api/v1/promotions"),
        body,
        {**body, "percent": 20},
        lambda: Promotion.objects.filter(merchant_id=kopi.id).count(),
    )


CASES = {
    "api/v1/members": _members,
    "api/v1/merchants": _merchants,
    "api/v1/topups": _topups,
    "api/v1/bank/notifications": _bank_notifications,
    "api/v1/payments": _payments,
    "api/v1/payments/<uuid:payment_id>/refunds": _refunds,
    "api/v1/promotions": _promotions,
}


def _post_paths(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _post_paths(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and hasattr(getattr(entry.callback, "view_class", None), "post"):
            yield prefix + str(entry.pattern)


def test_every_post_endpoint_has_a_replay_case_below():
    assert {path for path in _post_paths(get_resolver()) if path.startswith("api/v1/")} == set(CASES)


@dataclass
class World:
    anon: APIClient
    staff: APIClient
    register_member: Callable
    register_merchant: Callable
    credit: Callable


@pytest.fixture
def world(anon, staff, register_member, register_merchant, credit) -> World:
    return World(anon, staff, register_member, register_merchant, credit)


@pytest.mark.parametrize("path", list(CASES))
def test_a_retry_with_the_same_key_and_body_replays_the_first_answer_and_has_one_effect(world, path):
    case = CASES[path](world)

    first = case.post(case.body, "retry-1")
    again = case.post(case.body, "retry-1")

    assert first.status_code in (200, 201), first.content
    assert "Idempotent-Replayed" not in first
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert case.effects() == 1


@pytest.mark.parametrize("path", list(CASES))
def test_the_same_key_with_another_body_is_refused_and_has_no_effect(world, path):
    case = CASES[path](world)
    first = case.post(case.body, "retry-2")

    other = case.post(case.other_body, "retry-2")

    assert first.status_code in (200, 201), first.content
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert case.effects() == 1


def test_a_key_replays_for_at_least_24_hours_and_is_forgotten_after_its_retention(register_member):
    ani = register_member()
    post = _poster(ani.client, "/api/v1/topups")
    first = post({"amount": 50_000}, "kept")

    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert forget_old_keys() == 0
    replayed = post({"amount": 50_000}, "kept")

    IdempotencyRecord.objects.update(created_at=timezone.now() - RETENTION - timedelta(minutes=1))
    assert forget_old_keys() == 1
    anew = post({"amount": 50_000}, "kept")

    assert (replayed["Idempotent-Replayed"], replayed.json()) == ("true", first.json())
    assert "Idempotent-Replayed" not in anew
    assert anew.status_code == 201 and anew.json()["id"] != first.json()["id"]


def test_a_request_that_failed_on_our_side_is_rolled_back_and_its_key_can_be_retried(register_member, monkeypatch):
    ani = register_member()
    post = _poster(ani.client, "/api/v1/topups")

    def crash_after_writing(**kwargs):
        topup_create(**kwargs)
        raise RuntimeError("the process fell over after writing")

    monkeypatch.setattr(payments_api, "topup_create", crash_after_writing)
    failed = post({"amount": 50_000}, "after-500")
    monkeypatch.undo()
    retried = post({"amount": 50_000}, "after-500")
    replayed = post({"amount": 50_000}, "after-500")

    assert failed.status_code == 500
    assert (retried.status_code, "Idempotent-Replayed" in retried) == (201, False)
    assert replayed.json() == retried.json() and replayed["Idempotent-Replayed"] == "true"
    assert list(TopUp.objects.filter(member_id=ani.id).values_list("id", flat=True)) == [
        uuid.UUID(retried.json()["id"])
    ]


def test_a_key_of_up_to_255_characters_is_accepted_and_a_longer_one_refused(register_member):
    post = _poster(register_member().client, "/api/v1/topups")

    longest = post({"amount": 50_000}, "k" * 255)
    too_long = post({"amount": 50_000}, "k" * 256)

    assert longest.status_code == 201
    assert too_long.status_code == 400
    assert list(too_long.json()["error"]["fields"]) == ["Idempotency-Key"]


def test_keys_of_one_caller_are_kept_apart(register_member):
    post = _poster(register_member().client, "/api/v1/topups")

    first = post({"amount": 50_000}, "key-a")
    second = post({"amount": 60_000}, "key-b")
    first_again = post({"amount": 50_000}, "key-a")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] != first.json()["id"]
    assert (first_again.json(), first_again["Idempotent-Replayed"]) == (first.json(), "true")


@pytest.mark.postgres
def test_a_request_while_the_first_with_its_key_still_runs_is_409_at_once(register_member, monkeypatch):
    ani = register_member()
    post = _poster(ani.client, "/api/v1/topups")
    running, finish = threading.Event(), threading.Event()
    answers = {}

    def slow_topup_create(**kwargs):
        running.set()
        assert finish.wait(30)
        return topup_create(**kwargs)

    def first_request() -> None:
        try:
            answers["first"] = post({"amount": 50_000}, "busy")
        finally:
            connection.close()

    monkeypatch.setattr(payments_api, "topup_create", slow_topup_create)
    first = threading.Thread(target=first_request)
    first.start()
    try:
        assert running.wait(30)
        busy = post({"amount": 50_000}, "busy")
    finally:
        finish.set()
        first.join(30)
    monkeypatch.undo()
    after = post({"amount": 50_000}, "busy")

    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_key_in_use"
    assert answers["first"].status_code == 201
    assert (after.json(), after["Idempotent-Replayed"]) == (answers["first"].json(), "true")
    assert TopUp.objects.filter(member_id=ani.id).count() == 1
