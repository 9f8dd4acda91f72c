"""Bad input by hand, where a fuzzer would rarely go: amounts in every wrong shape, bodies
over the size limit, JSON nested past any sense, unicode at its edges, cursors and limits
the API never gave. Each is refused in the contract's error body, never a 500."""

import json
import uuid

import pytest

from apps.members.models import Member

pytestmark = pytest.mark.django_db(transaction=True)


def _post_raw(client, path: str, raw: str | bytes):
    return client.generic("POST", path, data=raw, content_type="application/json")


# (the JSON text of the amount, the error code it gets)
AMOUNTS = [
    ('"1000"', "validation_error"),  # a string
    ("1000.0", "validation_error"),  # a float, even a whole one
    ("10.5", "validation_error"),
    ("1e3", "validation_error"),  # JSON's exponent form is a float
    ("true", "validation_error"),
    ("false", "validation_error"),
    ("0", "validation_error"),
    ("-5", "validation_error"),
    ("1000000001", "validation_error"),  # over the limit per operation
    ("1" + "0" * 40, "validation_error"),  # huge
    ("1e400", "validation_error"),  # a float too big for a double
    ("null", "validation_error"),
    ("[]", "validation_error"),
    ("{}", "validation_error"),
    ("Infinity", "malformed_request"),  # not JSON at all
    ("-Infinity", "malformed_request"),
    ("NaN", "malformed_request"),
]


@pytest.mark.parametrize(("amount", "code"), AMOUNTS, ids=[a for a, _ in AMOUNTS])
def test_an_amount_that_is_not_a_json_integer_in_range_is_400_and_changes_nothing(register_member, amount, code):
    ani = register_member()

    topup = _post_raw(ani.client, "/api/v1/topups", f'{{"amount": {amount}}}')
    payment = _post_raw(ani.client, "/api/v1/payments", f'{{"merchant_id": "{uuid.uuid4()}", "amount": {amount}}}')

    for response in (topup, payment):
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == code
        if code == "validation_error":
            assert list(error["fields"]) == ["amount"]
    assert ani.client.get(f"/api/v1/members/{ani.id}").json()["recent_transactions"] == []


def test_the_largest_amount_is_accepted(register_member):
    ani = register_member()

    assert _post_raw(ani.client, "/api/v1/topups", '{"amount": 1000000000}').status_code == 201


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_body_over_the_size_limit_is_413_in_the_error_body(register_member, settings, method):
    ani = register_member()
    huge = json.dumps({"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    path = "/api/v1/members" if method == "POST" else f"/api/v1/members/{ani.id}"

    response = ani.client.generic(method, path, data=huge, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_five_megabyte_json_body_is_413_not_500(anon):
    body = json.dumps({"name": "Ani", "email": "ani@example.id", "phone": "+6281234567", "pad": "x" * 5_000_000})

    response = _post_raw(anon, "/api/v1/members", body)

    assert response.status_code == 413
    assert set(response.json()["error"]) == {"code", "message"}
    assert not Member.objects.exists()


@pytest.mark.parametrize("depth", [50, 100_000])
def test_deeply_nested_json_is_refused_in_the_error_body(anon, depth):
    nested = "[" * depth + "]" * depth

    response = _post_raw(anon, "/api/v1/members", f'{{"name": {nested}, "email": "a@b.id", "phone": "+6281234567"}}')

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"validation_error", "malformed_request"}
    assert not Member.objects.exists()


@pytest.mark.parametrize(
    "raw",
    ["", "{", '{"name": "Ani",}', "[1, 2", '"just a string"', "\xff\xfe", '{"name": "Ani"} trailing'],
    ids=["empty", "unclosed", "trailing comma", "unclosed array", "a string", "not utf-8", "trailing text"],
)
def test_malformed_json_is_400_in_the_error_body(anon, raw):
    response = _post_raw(anon, "/api/v1/members", raw.encode("latin-1"))

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"malformed_request", "validation_error"}


# Names from real people's phones: kept exactly as sent, and shown back exactly.
NAMES = [
    "\u200fعلي\u200f",  # right-to-left marks around Arabic
    "Ani \u202eWijaya",  # a right-to-left override
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 Keluarga",  # a family: emoji joined by zero-width joiners
    "Ani \U0001f4b8",  # a 4-byte emoji
    "Zo\u0065\u0301",  # a combining accent
    "\u0410\u043d\u0438",  # Cyrillic
]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_at_unicodes_edges_is_kept_and_round_tripped(anon, register_member, name):
    email = f"{uuid.uuid4().hex[:8]}@example.id"
    registered = anon.post("/api/v1/members", {"name": name, "email": email, "phone": "+6281234567"}, format="json")
    ani = register_member()
    changed = ani.client.patch(f"/api/v1/members/{ani.id}", {"name": name}, format="json")

    assert registered.status_code == 201
    assert registered.json()["name"] == name
    assert changed.json()["name"] == name
    assert ani.client.get(f"/api/v1/members/{ani.id}").json()["name"] == name


@pytest.mark.parametrize(
    "name", ["Ani\u0000Wijaya", "\u0000", "Ani\ud800"], ids=["NUL inside", "NUL", "lone surrogate"]
)
def test_a_name_the_database_cannot_store_is_400_naming_the_field(anon, register_member, name):
    body = json.dumps({"name": name, "email": "ani@example.id", "phone": "+6281234567"})
    ani = register_member()

    registered = _post_raw(anon, "/api/v1/members", body)
    changed = ani.client.generic(
        "PATCH", f"/api/v1/members/{ani.id}", data=json.dumps({"name": name}), content_type="application/json"
    )

    for response in (registered, changed):
        assert response.status_code == 400, response.content
        assert list(response.json()["error"]["fields"]) == ["name"]
    assert not Member.objects.filter(email="ani@example.id").exists()


@pytest.mark.parametrize("cursor", ["garbage", "%%%", "bz0xJnA9bm90LWEtZGF0ZQ==", "cD0yMDI2"])
def test_a_cursor_the_api_never_gave_is_400_not_404(register_member, cursor):
    ani = register_member()

    response = ani.client.get(f"/api/v1/members/{ani.id}/transactions", {"cursor": cursor})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["cursor"]


@pytest.mark.parametrize("limit", ["0", "-1", "101", "ten", "1.5", ""])
def test_a_page_size_out_of_range_is_400(register_member, limit):
    ani = register_member()

    response = ani.client.get(f"/api/v1/members/{ani.id}/notifications", {"limit": limit})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["limit"]
