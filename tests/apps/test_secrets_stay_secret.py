"""No secret leaves the place it belongs: a full flow (registrations, a signed top-up, a
payment, a refund, notifications, staff reads, failures) is run with every logger at DEBUG
(SQL included),
every event on the broker tapped, every response and email kept, then all of it and every
database row are searched for each secret that was issued or used."""

import io
import json
import logging
import time
import uuid

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core import mail, serializers
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from apps.payments.signatures import bank_signature
from blipay.events.consumers import drain

pytestmark = pytest.mark.django_db(transaction=True)

LOGGERS = [
    "",
    "blipay",
    "apps",
    "strangler",
    "django",
    "django.request",
    "django.server",
    "django.db.backends",
    "celery",
    "kombu",
    "amqp",
]
PASSWORD = "correct-horse-battery-staple-7"


class RecordingClient(APIClient):
    """Keeps every response, so error bodies and headers can be searched too."""

    responses: list = []

    def request(self, **kwargs):
        response = super().request(**kwargs)
        self.responses.append(response)
        return response


@pytest.fixture
def every_log(caplog):
    """Every logger at DEBUG, the SQL statements with their parameters included."""
    previous = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False
    for name, level in previous.items():
        logging.getLogger(name).setLevel(level)


def _client(token: str | None = None) -> RecordingClient:
    client = RecordingClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _bank(client: APIClient, body: dict, signatures: list[str], *, secret: str | None = None):
    raw = json.dumps(body).encode()
    signature = bank_signature(raw_body=raw, timestamp=int(time.time()), **({"secret": secret} if secret else {}))
    signatures.append(signature.split("v1=")[1])
    return client.post(
        "/api/v1/bank/notifications", raw, content_type="application/json", HTTP_X_BANK_SIGNATURE=signature
    )


def _register_twice(client: APIClient, path: str, body: dict) -> tuple:
    """Register, then replay it with the same Idempotency-Key (as a client whose answer got
    lost): both answers carry the secret, to the caller that registered."""
    key = str(uuid.uuid4())
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    return first, again


def test_no_secret_appears_in_logs_events_responses_emails_or_database_rows(every_log, tap, settings):
    settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = "the-banks-previous-secret-in-a-rotation"
    settings.BLIPAY_INTERNAL_KEY_PREVIOUS = "the-previous-internal-key-in-a-rotation"
    RecordingClient.responses = []
    anon = _client()
    registered, *replayed = _register_twice(
        anon, "/api/v1/members", {"name": "Ani", "email": "ani@example.id", "phone": "+6281234567890"}
    )
    merchant_registered, *merchant_replayed = _register_twice(
        anon, "/api/v1/merchants", {"name": "Kopi", "email": "kopi@merchant.id"}
    )
    token, api_key = registered.json()["token"], merchant_registered.json()["api_key"]
    drain()
    member, merchant = _client(token), _client(api_key)
    member_id, merchant_id = registered.json()["id"], merchant_registered.json()["id"]

    signatures: list[str] = []
    topup = member.post("/api/v1/topups", {"amount": 100_000}, format="json").json()
    confirmation = {
        "reference": topup["reference"],
        "amount": 100_000,
        "status": "paid",
        "bank_transaction_id": f"BCA-{uuid.uuid4().hex[:12]}",
        "paid_at": "2026-11-25T10:00:00+07:00",
    }
    assert _bank(anon, confirmation, signatures).status_code == 200
    assert _bank(anon, confirmation, signatures, secret="not-the-banks-secret").status_code == 401
    rotated = member.post("/api/v1/topups", {"amount": 20_000}, format="json").json()
    late = {**confirmation, "reference": rotated["reference"], "amount": 20_000, "bank_transaction_id": "BCA-rotated"}
    assert _bank(anon, late, signatures, secret=settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS).status_code == 200
    paid = member.post("/api/v1/payments", {"merchant_id": merchant_id, "amount": 30_000}, format="json")
    assert paid.status_code == 201
    refund = merchant.post(f"/api/v1/payments/{paid.json()['id']}/refunds", {"amount": 10_000}, format="json")
    assert refund.status_code == 201
    drain()
    assert member.get(f"/api/v1/members/{member_id}/notifications").json()["results"]

    User.objects.create_user("ops", "ops@example.com", PASSWORD, is_staff=True, is_superuser=True)
    command_output = io.StringIO()  # the one place a staff token is meant to be shown
    call_command("staff_token", "ops", stdout=command_output, stderr=io.StringIO())
    staff_token = command_output.getvalue().strip()
    assert _client(staff_token).get(f"/api/v1/members/{member_id}").status_code == 200
    admin = RecordingClient()
    assert admin.post("/admin/login/", {"username": "ops", "password": PASSWORD}).status_code == 302
    assert admin.post("/admin/login/", {"username": "ops", "password": PASSWORD + "x"}).status_code == 200
    wrong_token = token[:-6] + "AAAAAA"
    assert _client(wrong_token).get(f"/api/v1/members/{member_id}").status_code == 401
    assert _client(api_key).get(f"/api/v1/members/{member_id}").status_code in (403, 404)

    secrets = {
        "member token": token,
        "merchant API key": api_key,
        "staff token": staff_token,
        "presented wrong token": wrong_token,
        "admin password": PASSWORD,
        "SECRET_KEY": settings.SECRET_KEY,
        "internal identity key": settings.BLIPAY_INTERNAL_KEY,
        "bank webhook secret": settings.BLIPAY_BANK_WEBHOOK_SECRET,
        "previous bank webhook secret": settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS,
        "previous internal identity key": settings.BLIPAY_INTERNAL_KEY_PREVIOUS,
        **{f"bank signature {n}": signature for n, signature in enumerate(signatures)},
    }
    events = [json.dumps(message.body) + json.dumps(message.properties, default=str) for message in tap.take_all()]
    assert any('"type": "payment.saved"' in event for event in events)
    places = {
        "logs": every_log.text + "\n".join(repr(record.__dict__) for record in every_log.records),
        "events on the broker": "\n".join(events),
        "emails": "\n".join(f"{m.subject}\n{m.body}\n{m.extra_headers}" for m in mail.outbox),
        "responses (but the registrations and their replays, which carry it to its owner)": "\n".join(
            f"{r.status_code} {dict(r.headers)}\n{r.content.decode()}"
            for r in RecordingClient.responses
            if r not in (registered, merchant_registered, *replayed, *merchant_replayed)
        ),
        "database rows": "\n".join(
            serializers.serialize("json", model.objects.all()) for model in apps.get_models() if model._meta.managed
        ),
    }
    assert mail.outbox
    assert {"django.db.backends", "django.request", "celery.app.trace"} <= {r.name for r in every_log.records}
    leaks = [
        f"{name} in {where}" for where, text in places.items() for name, secret in secrets.items() if secret in text
    ]
    assert leaks == [], leaks
