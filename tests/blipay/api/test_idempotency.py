"""Idempotency-Key for callers without a credential: each client address has its own keys,
and a replayed registration answers its first response whole, to its caller only."""

import uuid

import pytest
from cryptography.fernet import InvalidToken
from rest_framework.test import APIClient

from blipay.api.idempotency import _seal
from blipay.api.models import IdempotencyRecord

pytestmark = pytest.mark.django_db(transaction=True)


def _from(address: str) -> APIClient:
    return APIClient(REMOTE_ADDR=address)


def _member(name: str = "Ani Wijaya") -> dict:
    return {"name": name, "email": f"{uuid.uuid4().hex[:10]}@example.id", "phone": "+6281234567890"}


def test_two_anonymous_callers_with_the_same_key_each_get_their_own_result():
    ani, budi = _member("Ani"), _member("Budi")

    first = _from("198.51.100.7").post("/api/v1/members", ani, format="json", HTTP_IDEMPOTENCY_KEY="signup")
    second = _from("203.0.113.9").post("/api/v1/members", budi, format="json", HTTP_IDEMPOTENCY_KEY="signup")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["name"] == "Ani" and second.json()["name"] == "Budi"
    assert first.json()["token"] != second.json()["token"]
    assert "Idempotent-Replayed" not in second


def test_one_anonymous_caller_reusing_a_key_with_another_body_gets_422():
    caller = _from("198.51.100.7")
    assert caller.post("/api/v1/members", _member(), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201

    reused = caller.post("/api/v1/members", _member(), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("path", "secret", "body"),
    [
        ("/api/v1/members", "token", _member()),
        ("/api/v1/merchants", "api_key", {"name": "Warung Kopi", "email": "kopi@merchant.id"}),
    ],
)
def test_a_replayed_registration_answers_the_first_response_whole_and_only_to_its_caller(path, secret, body):
    caller = _from("198.51.100.7")
    first = caller.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="once")

    again = caller.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="once")
    elsewhere = _from("203.0.113.9").post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="once")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert elsewhere.status_code == 409  # another address is not a replay: it tries anew, and the email is taken
    assert secret not in elsewhere.json()
    owner = APIClient(HTTP_AUTHORIZATION=f"Bearer {first.json()[secret]}")
    kind = "members" if secret == "token" else "merchants"
    assert owner.get(f"/api/v1/{kind}/{first.json()['id']}").status_code == 200


def test_the_schema_documents_the_idempotency_key_of_every_post(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    posts = {path: ops["post"] for path, ops in paths.items() if "post" in ops}

    assert posts
    assert [path for path, op in posts.items() if "Idempotency-Key" not in {p["name"] for p in op["parameters"]}] == []


def test_the_idempotency_record_holds_neither_the_key_nor_the_secret_readable():
    key = f"key-{uuid.uuid4()}"
    token = _from("198.51.100.8").post("/api/v1/members", _member(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    token = token.json()["token"]

    stored = " ".join(str(value) for value in IdempotencyRecord.objects.values_list("key", "body", "sealed").get())
    assert key not in stored
    assert token not in stored


def test_a_sealed_secret_opens_only_for_its_caller_and_its_key():
    # What someone holding the database and SECRET_KEY could try: the seal of any other
    # key or caller. Only the caller presenting its own Idempotency-Key opens it.
    address = "198.51.100.9"
    token = (
        _from(address).post("/api/v1/members", _member(), format="json", HTTP_IDEMPOTENCY_KEY="mine").json()["token"]
    )
    sealed = IdempotencyRecord.objects.get().sealed.encode()

    assert token in _seal(f"anonymous:{address}", "mine").decrypt(sealed).decode()
    for caller, key in [(f"anonymous:{address}", "other"), ("anonymous:203.0.113.9", "mine"), ("", ""), (None, None)]:
        with pytest.raises(InvalidToken):
            _seal(caller, key).decrypt(sealed)
