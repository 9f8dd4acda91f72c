"""The proxy against a real upstream on a loopback port: what the client sees, what the
upstream receives, and what happens when the upstream fails."""

import gzip
import io
import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, override_settings

from blipay.identity.internal import Caller, verify
from strangler import breaker
from strangler.models import RouteChange
from tests.helpers import free_port
from tests.strangler.conftest import set_route
from tests.strangler.views import calls

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_request_no_route_matches_is_served_by_the_monolith_and_says_so(client, echo_route):
    response = client.get("/api/v1/echo/plain")

    assert response.status_code == 200
    assert response["X-Served-By"] == "monolith"
    assert echo_route.mode == "monolith" and not response.get("X-Strangler-Fallback")


def test_a_routed_request_is_served_by_the_service_with_the_same_request_id(client, echo, echo_route):
    set_route("echo", "service")

    response = client.get("/api/v1/echo/plain?a=1", HTTP_X_REQUEST_ID="req-123")

    assert response.status_code == 200
    assert response["X-Served-By"] == "echo"
    assert response["X-Request-ID"] == "req-123"
    assert echo.header("X-Request-ID") == ["req-123"]
    assert json.loads(b"".join(response.streaming_content))["value"] == 1


def test_the_query_string_reaches_the_service_byte_for_byte(client, echo, echo_route):
    set_route("echo", "service")
    raw = "b=2&a=1&a=%20x&c=%E2%9C%93&empty=&flag"

    client.get(f"/api/v1/echo/plain?{raw}")

    assert echo.last()["target"] == f"/api/v1/echo/plain?{raw}"


def test_hop_by_hop_headers_and_those_connection_names_are_stripped_both_ways(client, echo, echo_route):
    set_route("echo", "service")

    response = client.get(
        "/api/v1/echo/hop",
        HTTP_CONNECTION="X-Client-Hop, keep-alive",
        HTTP_X_CLIENT_HOP="secret",
        HTTP_PROXY_CONNECTION="X-Other-Hop",
        HTTP_X_OTHER_HOP="secret",
        HTTP_KEEP_ALIVE="timeout=5",
        HTTP_TE="trailers",
        HTTP_X_KEPT="kept",
    )

    sent = {name.lower() for name, _ in echo.last()["headers"]}
    assert {"x-client-hop", "x-other-hop", "proxy-connection", "te", "keep-alive"}.isdisjoint(sent)
    assert echo.header("X-Kept") == ["kept"]
    assert {"X-Secret-Hop", "Keep-Alive", "Proxy-Connection", "Connection"}.isdisjoint(response.headers)


def test_a_spoofed_x_forwarded_for_is_replaced_by_the_peer_and_a_trusted_hop_is_appended_to(
    client, echo, echo_route, settings
):
    set_route("echo", "service")

    client.get("/api/v1/echo/plain", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="127.0.0.9")
    assert echo.header("X-Forwarded-For") == ["127.0.0.9"]

    settings.BLIPAY_TRUSTED_PROXIES = frozenset({"127.0.0.9"})
    client.get("/api/v1/echo/plain", HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="127.0.0.9")
    assert echo.header("X-Forwarded-For") == ["203.0.113.7, 127.0.0.9"]
    assert echo.header("X-Forwarded-Proto") == ["http"]
    assert echo.header("X-Forwarded-Host") == ["testserver"]
    assert echo.header("Host") == [echo.url.removeprefix("http://")]


def test_several_set_cookie_headers_reach_the_client_exactly_as_the_service_wrote_them(client, echo, echo_route):
    set_route("echo", "service")

    response = client.get("/api/v1/echo/cookies")

    written = [c.output(header="") for c in response.cookies.values()]
    assert written == ["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure; SameSite=None; Partitioned; Max-Age=60"]


def test_a_gzip_answer_passes_through_compressed_with_its_own_length(client, echo, echo_route):
    set_route("echo", "service")

    response = client.get("/api/v1/echo/gzip", HTTP_ACCEPT_ENCODING="gzip")

    body = b"".join(response.streaming_content)
    assert response["Content-Encoding"] == "gzip"
    assert int(response["Content-Length"]) == len(body)
    assert json.loads(gzip.decompress(body))["value"] == 1
    assert echo.header("Accept-Encoding") == ["gzip"]


@pytest.mark.parametrize(
    ("method", "path", "status"), [("HEAD", "plain", 200), ("GET", "204", 204), ("GET", "304", 304)]
)
def test_answers_without_a_body_have_none(client, echo, echo_route, method, path, status):
    set_route("echo", "service")

    response = client.generic(method, f"/api/v1/echo/{path}")

    assert response.status_code == status
    assert b"".join(getattr(response, "streaming_content", [response.content])) == b""


def test_a_location_pointing_at_the_service_is_rewritten_to_the_public_host(client, echo, echo_route):
    set_route("echo", "service")

    response = client.get("/api/v1/echo/redirect")

    assert response.status_code == 302
    assert response["Location"] == "http://testserver/api/v1/echo/plain?x=1"


def test_the_service_gets_a_signed_identity_and_never_the_clients_copy_or_its_credential(
    client, echo, echo_route, staff_token
):
    set_route("echo", "service")

    client.get(
        "/api/v1/echo/plain?q=1",
        HTTP_AUTHORIZATION=f"Bearer {staff_token}",
        HTTP_X_BLIPAY_IDENTITY="forged",
        **{"HTTP_HTTP_X_BLIPAY_IDENTITY": "forged", "HTTP_X_BLIPAY_IDENTITY_": "forged"},
    )

    [identity] = echo.header("X-Blipay-Identity")
    assert identity != "forged" and echo.header("Authorization") == []
    assert not any("forged" in value for _, value in echo.last()["headers"])
    caller = verify(identity, method="GET", path="/api/v1/echo/plain", query="q=1", body=b"")
    assert caller == Caller(kind="staff", id="1")


def test_requests_naming_another_host_reach_only_the_configured_upstream(client, echo, echo_route):
    set_route("echo", "service")
    attempts = [
        client.get("//169.254.169.254/api/v1/echo/plain"),  # the test client sends its path only, like a server
        client.get("/api/v1/echo/../../admin/"),
        client.get("/api/v1/echo/plain", HTTP_X_FORWARDED_HOST="169.254.169.254"),
        client.get("/api/v1/echo/plain", HTTP_HOST="169.254.169.254"),
    ]

    assert [r.status_code for r in attempts] == [200, 404, 200, 400]
    assert all(host == [echo.url.removeprefix("http://")] for host in (echo.header("Host", r) for r in echo.received))
    assert [r["target"] for r in echo.received] == ["/api/v1/echo/plain", "/api/v1/echo/plain"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_service_that_refuses_connections_is_fallen_back_from_for_any_method(client, echo_route, settings, method):
    settings.BLIPAY_SERVICES = {**settings.BLIPAY_SERVICES, "echo": f"http://127.0.0.1:{free_port()}"}
    set_route("echo", "service")

    response = client.generic(method, "/api/v1/echo/plain", b"{}", content_type="application/json")

    assert response.status_code == 200
    assert response["X-Served-By"] == "monolith"
    assert response["X-Strangler-Fallback"].startswith("connect failed")


def test_a_slow_service_times_out_falls_back_opens_the_breaker_then_half_opens_it(client, echo, echo_route):
    set_route("echo", "service")
    echo.delay = 1.0  # the route's read timeout is 0.5 s

    # Each read: a timeout, one retry, then the monolith. The third failure opens the breaker.
    slow = [client.get("/api/v1/echo/plain") for _ in range(2)]

    assert [(r.status_code, r["X-Served-By"]) for r in slow] == [(200, "monolith")] * 2
    assert [r["X-Strangler-Fallback"] for r in slow] == ["read timeout", "breaker open"]
    assert breaker.state("echo", "echo") == "open"
    contacted = len(echo.received)
    assert client.get("/api/v1/echo/plain")["X-Strangler-Fallback"] == "breaker open"
    assert len(echo.received) == contacted  # an open breaker doesn't even try

    echo.delay = 0
    time.sleep(1.1)  # the route's cooldown: the next request is the half-open trial
    healed = client.get("/api/v1/echo/plain")
    assert healed["X-Served-By"] == "echo"
    assert breaker.state("echo", "echo") == "closed"


def test_a_write_the_service_may_have_received_is_never_replayed_on_the_monolith(client, echo, echo_route):
    set_route("echo", "service")
    echo.delay = 1.0
    calls.clear()

    response = client.post("/api/v1/echo/plain", {"amount": 1}, format="json")

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert response["X-Strangler-Error"] == "read timeout"
    assert calls == []  # the monolith never ran it
    assert len(echo.received) == 1  # nor was it retried


def test_a_5xx_falls_back_for_a_read_but_is_passed_on_for_a_write(client, echo, echo_route):
    set_route("echo", "service")
    echo.answers["/api/v1/echo/plain"] = 503
    calls.clear()

    read = client.get("/api/v1/echo/plain")
    write = client.post("/api/v1/echo/plain", {}, format="json")

    assert (read.status_code, read["X-Served-By"], read["X-Strangler-Fallback"]) == (
        200,
        "monolith",
        "service answered 503",
    )
    assert (write.status_code, write["X-Served-By"]) == (503, "echo")
    assert calls == ["GET /api/v1/echo/plain"]


def test_a_chunked_upload_reaches_the_service_whole(client, echo, echo_route):
    set_route("echo", "service")
    body = b'{"chunked": true}'

    client.generic(
        "POST",
        "/api/v1/echo/plain",
        body,
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        # What a server gives Django for a chunked body: the de-chunked stream, no length.
        **{"wsgi.input_terminated": True, "CONTENT_LENGTH": "", "wsgi.input": io.BytesIO(body)},
    )

    assert echo.last()["body"] == body.decode()
    assert echo.header("Transfer-Encoding") == []


def test_every_route_change_is_recorded_with_who_when_and_from_what_to_what(echo_route):
    set_route("echo", "canary", percent=20, reason="first callers")

    change = RouteChange.objects.filter(route="echo").first()
    assert (change.actor, change.via, change.reason) == ("test", "command", "first callers")
    assert (change.before["mode"], change.after["mode"], change.after["percent"]) == ("monolith", "canary", 20)


def test_a_route_change_reaches_a_running_process_within_five_seconds_without_a_query_per_request(
    client, echo, echo_route, django_assert_max_num_queries
):
    from strangler.routes import route_set

    client.get("/api/v1/echo/plain")  # this process has read the table
    route_set(name="echo", mode="service", actor="someone else", via="command")
    with django_assert_max_num_queries(1):  # the table's version, at most once in CHECK_SECONDS
        for _ in range(20):
            client.get("/api/v1/echo/plain")

    deadline = time.monotonic() + 5
    while client.get("/api/v1/echo/plain")["X-Served-By"] != "echo":
        assert time.monotonic() < deadline, "the change did not arrive within 5 s"
        time.sleep(0.2)


@override_settings(BLIPAY_SERVICES={})
def test_a_route_to_a_service_not_configured_cannot_be_turned_on(echo_route):
    from strangler.routes import RouteError, route_set

    with pytest.raises(RouteError, match="not in BLIPAY_SERVICES"):
        route_set(name="echo", mode="service", actor="test", via="command")


def test_under_asgi_a_routed_request_is_served_by_the_service_too(echo, echo_route):
    set_route("echo", "service")

    async def get() -> tuple:
        response = await AsyncClient().get("/api/v1/echo/plain", headers={"X-Request-ID": "asgi-1"})
        return response, b"".join(response.streaming_content)  # sync: Django buffered it under ASGI

    response, body = async_to_sync(get)()

    assert (response.status_code, response["X-Served-By"], response["X-Request-ID"]) == (200, "echo", "asgi-1")
    assert json.loads(body)["value"] == 1
