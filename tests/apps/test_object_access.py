"""Object-level authorization (BOLA), as a matrix generated from the URLconf: every API
route whose path names an object, by each of its methods, called by every kind of caller:
anonymous, the member who owns the object, another member, the merchant it belongs to,
another merchant, staff. Who may act on each object is declared below, once; what everyone
else gets follows from the contract: no credentials 401, an endpoint not for the caller's
kind 403, someone else's object 404 (exactly like one that doesn't exist).

A new object endpoint is covered the day it is added: until it is declared here, the
matrix fails and says so.
"""

import json
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)

# Who may act on the object a route names, by (route name, method): the owning member
# ("member"), the merchant it belongs to ("merchant"), staff ("staff").
MAY = {
    ("member-detail", "GET"): {"member", "staff"},
    ("member-detail", "PATCH"): {"member", "staff"},
    ("member-transactions", "GET"): {"member", "staff"},
    ("member-notifications", "GET"): {"member", "staff"},
    ("merchant-detail", "GET"): {"merchant", "staff"},
    ("topup-detail", "GET"): {"member", "staff"},
    ("payment-detail", "GET"): {"member", "merchant", "staff"},
    ("refund-create", "POST"): {"merchant", "staff"},
}
# What a write sends (valid, so only authorization decides the answer).
BODY = {("member-detail", "PATCH"): {"name": "Ani W."}, ("refund-create", "POST"): {"amount": 1}}
SUCCESS = {"GET": 200, "PATCH": 200, "POST": 201}
CALLERS = ("anonymous", "member", "other member", "merchant", "other merchant", "staff")


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # with <converter:parameter> placeholders
    parameters: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _routes(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def object_endpoints() -> list[Endpoint]:
    """Every API route with an object in its path, by each method its view answers."""
    endpoints = []
    for path, pattern in _routes(get_resolver("blipay.urls")):
        parameters = tuple(pattern.pattern.converters)
        view = getattr(pattern.callback, "view_class", None)
        if not path.startswith("api/v1/") or not parameters or view is None:
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                endpoints.append(Endpoint(pattern.name, method.upper(), "/" + path, parameters))
    return endpoints


def _expected(endpoint: Endpoint, caller: str) -> int:
    may = MAY[(endpoint.name, endpoint.method)]
    kind = caller.removeprefix("other ")
    if caller == "anonymous":
        return 401
    if caller in may:
        return SUCCESS[endpoint.method]
    if kind in may:
        return 404  # the same kind of caller, someone else's object
    return 403


def test_every_object_endpoint_is_in_the_matrix():
    endpoints = object_endpoints()

    missing = [str(e) for e in endpoints if (e.name, e.method) not in MAY]

    assert len(endpoints) >= len(MAY)
    assert missing == [], f"add them to the matrix (MAY) in {__name__}: who may act on their objects"


@pytest.fixture
def world(register_member, register_merchant, credit, staff):
    """Ani (a member) paid Warung Kopi (a merchant) and asked for a top-up; Budi and Toko Lain
    are another member and merchant; and staff."""
    ani, budi = register_member(), register_member()
    kopi, lain = register_merchant(), register_merchant("Toko Lain")
    credit(ani, 100_000)
    payment = ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 50_000}, format="json").json()
    topup = ani.client.post("/api/v1/topups", {"amount": 10_000}, format="json").json()
    return {
        "clients": {
            "anonymous": APIClient(),
            "member": ani.client,
            "other member": budi.client,
            "merchant": kopi.client,
            "other merchant": lain.client,
            "staff": staff,
        },
        "ids": {"member_id": ani.id, "merchant_id": kopi.id, "payment_id": payment["id"], "topup_id": topup["id"]},
    }


@pytest.mark.parametrize("endpoint", object_endpoints(), ids=str)
def test_each_caller_reaches_only_the_objects_it_may(endpoint, world):
    unknown = [name for name in endpoint.parameters if name not in world["ids"]]
    assert unknown == [], f"the matrix has no object for {unknown}: add one to the world fixture"
    url = _url(endpoint, world["ids"])
    body = json.dumps(BODY.get((endpoint.name, endpoint.method), {}))

    answers = {}
    for caller in CALLERS:
        client = world["clients"][caller]
        response = client.generic(endpoint.method, url, data=body, content_type="application/json")
        answers[caller] = response.status_code
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, response.content

    assert answers == {caller: _expected(endpoint, caller) for caller in CALLERS}


def _url(endpoint: Endpoint, ids: dict[str, str]) -> str:
    url = endpoint.path
    for name in endpoint.parameters:
        start = url.index("<")
        end = url.index(">", start)
        assert url[start:end].endswith(name)
        url = url[:start] + ids[name] + url[end + 1 :]
    return url
