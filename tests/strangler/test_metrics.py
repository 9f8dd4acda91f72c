"""What the strangler counts shows in /metrics: requests per side, fallbacks, the route label."""

import pytest

from strangler import shadow
from tests.helpers import free_port
from tests.observed import scrape
from tests.strangler.conftest import set_route

pytestmark = pytest.mark.django_db(transaction=True)


def test_requests_per_side_and_fallbacks_are_counted_per_route(client, echo, echo_route, settings):
    before = scrape(settings)
    assert client.get("/api/v1/echo/plain").status_code == 200  # the route starts at the monolith
    set_route("echo", "service")
    forwarded = client.get("/api/v1/echo/plain")
    b"".join(forwarded.streaming_content)  # counted once the answer has gone out in full
    settings.BLIPAY_SERVICES = {**settings.BLIPAY_SERVICES, "echo": f"http://127.0.0.1:{free_port()}"}
    assert client.get("/api/v1/echo/plain")["X-Strangler-Fallback"].startswith("connect failed")
    after = scrape(settings)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    # A route at the monolith routes nothing (its requests go on as if it weren't there):
    # the monolith's one is the fallback's.
    assert moved("blipay_strangler_requests_total", route="echo", side="monolith") == 1
    assert moved("blipay_strangler_requests_total", route="echo", side="service") == 1
    assert moved("blipay_strangler_fallbacks_total", route="echo") == 1
    assert moved("blipay_strangler_latency_seconds_count", route="echo", side="service") == 1
    # The HTTP label: the forwarded request by its route's name, the others by the URL pattern.
    assert moved("blipay_http_requests_total", route="strangler:echo", status="200") == 1
    assert moved("blipay_http_requests_total", route="/api/v1/echo/<str:what>", status="200") == 2


def test_a_shadow_mismatch_is_counted_for_its_route(client, echo, echo_route, settings):
    set_route("echo", "shadow", serve="monolith")
    echo.noise = False
    echo.value = 2  # the service disagrees with the monolith's value 1
    before = scrape(settings)

    client.get("/api/v1/echo/plain")
    shadow.drain()
    after = scrape(settings)

    for counter in ("compared", "mismatched"):
        name = f"blipay_strangler_shadow_{counter}_total"
        assert after.value(name, route="echo") - before.value(name, route="echo") == 1
    assert after.value("blipay_strangler_shadow_matched_total", route="echo") == before.value(
        "blipay_strangler_shadow_matched_total", route="echo"
    )
