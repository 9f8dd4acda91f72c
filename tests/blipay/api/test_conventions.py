"""The API's shared conventions: rate limits, the schema and docs (idempotency on every POST:
tests/apps/test_idempotent_posts.py)."""

import os
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)

LIMITS = {"registration": "3/minute", "failed_auth": "3/minute", "writes": "5/minute"}


@pytest.fixture
def limits(settings):
    cache.clear()
    settings.BLIPAY_RATE_LIMITS = LIMITS
    yield
    cache.clear()


def _register(client: APIClient, n: int):
    body = {"name": "Ani", "email": f"ani{n}@example.id", "phone": "+6281234567"}
    return client.post("/api/v1/members", body, format="json")


def test_registrations_past_the_limit_get_429_with_retry_after(limits):
    client = APIClient()

    statuses = [_register(client, n).status_code for n in range(4)]
    refused = _register(client, 99)

    assert statuses == [201, 201, 201, 429]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1


def test_a_bad_token_repeated_gets_429_while_a_valid_token_from_the_same_address_still_works(limits):
    client = APIClient()
    member = _register(client, 1).json()

    url = f"/api/v1/members/{member['id']}"
    bad = [client.get(url, HTTP_AUTHORIZATION="Bearer nope").status_code for _ in range(4)]
    other_bad = [client.get(url, HTTP_AUTHORIZATION=f"Bearer nope{n}").status_code for n in range(3)]
    good = client.get(url, HTTP_AUTHORIZATION=f"Bearer {member['token']}")

    assert bad == [401, 401, 401, 429]
    assert client.get(url, HTTP_AUTHORIZATION="Bearer nope").json()["error"]["code"] == "rate_limited"
    assert other_bad == [401, 401, 401]
    assert good.status_code == 200


def test_rotating_x_forwarded_for_does_not_dodge_the_failed_authentication_limit(limits):
    client = APIClient()
    member = _register(client, 1).json()

    url = f"/api/v1/members/{member['id']}"
    statuses = [
        client.get(url, HTTP_AUTHORIZATION="Bearer nope", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]

    assert statuses == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_hop_the_forwarded_client_address_is_counted(limits, settings):
    settings.BLIPAY_TRUSTED_PROXIES = frozenset({"10.0.0.2"})
    client = APIClient(REMOTE_ADDR="10.0.0.2")
    member = _register(client, 1).json()

    url = f"/api/v1/members/{member['id']}"

    def attempt(address: str) -> int:
        return client.get(url, HTTP_AUTHORIZATION="Bearer nope", HTTP_X_FORWARDED_FOR=address).status_code

    first = [attempt("203.0.113.7") for _ in range(4)]
    second = attempt("203.0.113.8")

    assert first == [401, 401, 401, 429]
    assert second == 401


def test_rotating_x_forwarded_for_does_not_dodge_the_registration_limit(limits):
    client = APIClient()

    statuses = [
        client.post(
            "/api/v1/members",
            {"name": "Ani", "email": f"ani{n}@example.id", "phone": "+6281234567"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(4)
    ]

    assert statuses == [201, 201, 201, 429]


def test_writes_per_caller_are_limited(limits):
    client = APIClient()
    member = _register(client, 1).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {member['token']}")

    statuses = [client.post("/api/v1/topups", {"amount": 1_000}, format="json").status_code for _ in range(6)]

    assert statuses == [201] * 5 + [429]


def test_rate_limits_off_lets_everything_through(settings):
    settings.BLIPAY_RATE_LIMITS = None
    client = APIClient()

    assert {_register(client, n).status_code for n in range(30)} == {201}


def test_the_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/members", "/api/v1/members/{member_id}", "/api/v1/payments", "/api/v1/bank/notifications"):
        assert path in paths
    assert docs.status_code == 200


# A process's first schema requests, all at once (a fresh threaded gunicorn worker's).
_FIRST_SCHEMAS_AT_ONCE = """
import threading, django
django.setup()
from django.test import Client
statuses, start = [], threading.Barrier(4)
def fetch():
    start.wait()
    statuses.append(Client().get("/api/schema/?format=json").status_code)
threads = [threading.Thread(target=fetch) for _ in range(4)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
print(sorted(statuses))
"""


def test_a_fresh_processs_first_schema_requests_at_once_all_get_the_schema(settings):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(settings.BASE_DIR)}
    answer = subprocess.run(
        [sys.executable, "-c", _FIRST_SCHEMAS_AT_ONCE], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.strip().splitlines()[-1] == "[200, 200, 200, 200]"


def test_the_openapi_schema_is_valid_and_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "bearer" in (tmp_path / "schema.yml").read_text()
