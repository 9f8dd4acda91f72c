"""Actors of the API tests: members, merchants, staff and the bank, made through the API."""

import json
import time
import uuid
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.payments.signatures import bank_signature
from blipay.events.consumers import drain
from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential
from tests.apps.wallet import factories as wallet
from tests.helpers import purge_module_queues


@pytest.fixture(autouse=True)
def _clean_queues():
    purge_module_queues()


@dataclass
class Actor:
    id: str
    token: str
    client: APIClient


def _client(token: str | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return _client()


@pytest.fixture
def pump():
    return drain


@pytest.fixture
def register_member(anon):
    def register(email: str | None = None, name: str = "Ani Wijaya") -> Actor:
        email = email or f"{uuid.uuid4().hex[:10]}@example.id"
        response = anon.post(
            "/api/v1/members", {"name": name, "email": email, "phone": "+6281234567890"}, format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        return Actor(id=body["id"], token=body["token"], client=_client(body["token"]))

    return register


@pytest.fixture
def register_merchant(anon, pump):
    def register(name: str = "Warung Kopi") -> Actor:
        email = f"{uuid.uuid4().hex[:10]}@merchant.id"
        response = anon.post("/api/v1/merchants", {"name": name, "email": email}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        pump()  # payments and promotions learn of the merchant through merchant.saved
        return Actor(id=body["id"], token=body["api_key"], client=_client(body["api_key"]))

    return register


@pytest.fixture
def staff() -> APIClient:
    return _client(credential_issue(kind=Credential.STAFF, subject="1"))


def bank_post(client: APIClient, body: dict, *, signature: str | None = None, **headers: str):
    """POST a bank confirmation, correctly signed unless ``signature`` is given."""
    raw = json.dumps(body).encode()
    signature = signature or bank_signature(raw_body=raw, timestamp=int(time.time()))
    return client.post(
        "/api/v1/bank/notifications", raw, content_type="application/json", HTTP_X_BANK_SIGNATURE=signature, **headers
    )


@pytest.fixture
def credit(pump):
    """Put money on a member's balance straight through the wallet, then let the events flow
    (the read model, notifications). For tests about what money does, not how it arrives."""

    def put(member: Actor, amount: int) -> None:
        wallet.credit(member.id, amount)
        pump()

    return put


@pytest.fixture
def fund(anon, pump):
    """Top a member up through the real flow: ask, the bank confirms, events flow."""

    def top_up(member: Actor, amount: int) -> dict:
        topup = member.client.post("/api/v1/topups", {"amount": amount}, format="json").json()
        confirmation = {
            "reference": topup["reference"],
            "amount": amount,
            "status": "paid",
            "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
            "paid_at": "2026-11-25T10:00:00+07:00",
        }
        assert bank_post(anon, confirmation).status_code == 200
        pump()
        return topup

    return top_up
