"""The route table exported for a production proxy: nginx really runs it, in front of the
monolith (a live server) and a service (the loopback upstream)."""

import io
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import urllib3
from django.core.management import call_command

from blipay.identity.internal import Caller, verify
from strangler.models import Route
from tests.helpers import free_port
from tests.strangler.conftest import set_route

pytestmark = pytest.mark.django_db(transaction=True)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (.ci/run installs it)")


def _export(fmt: str, **options: str) -> str:
    out = io.StringIO()
    call_command(
        "strangler",
        "export",
        "--format",
        fmt,
        *[f"--{k.replace('_', '-')}={v}" for k, v in options.items()],
        stdout=out,
    )
    return out.getvalue()


@pytest.fixture
def every_mode(echo, echo_route) -> None:
    set_route("echo", "service")
    for name, mode, options in (
        ("echo-canary", "canary", {"percent": 20}),
        ("echo-shadow", "shadow", {"serve": "monolith"}),
    ):
        Route.objects.create(name=name, service="echo", methods="GET,POST", path=f"/api/v1/{name}/{{id}}")
        set_route(name, mode, **options)


@needs_nginx
def test_nginx_accepts_the_exported_configuration_with_every_mode(every_mode, tmp_path):
    config = tmp_path / "nginx.conf"
    config.write_text(_export("nginx", run_dir=str(tmp_path)))

    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True, check=False
    )

    assert checked.returncode == 0, checked.stderr
    assert "split_clients" in config.read_text() and "mirror /_blipay_mirror_echo-shadow" in config.read_text()


@needs_nginx
def test_requests_through_the_exported_nginx_reach_each_side_with_a_signed_identity(
    echo, echo_route, live_server, staff_token, settings
):
    Route.objects.filter(name="echo").update(methods="GET,HEAD")  # reads only: the edge may fall back
    set_route("echo", "service")
    run_dir = Path(tempfile.mkdtemp(prefix="blipay-nginx-"))
    listen = f"127.0.0.1:{free_port()}"
    config = run_dir / "nginx.conf"
    config.write_text(
        _export("nginx", listen=listen, monolith=live_server.url.removeprefix("http://"), run_dir=str(run_dir))
    )
    settings.BLIPAY_SERVICES = {}  # the monolith behind the edge doesn't route again
    nginx = subprocess.Popen(
        [NGINX, "-p", str(run_dir), "-c", str(config), "-g", "daemon off;"], stderr=subprocess.PIPE
    )
    http = urllib3.PoolManager(retries=False, timeout=5)
    try:
        _wait_for(listen)
        headers = {"Authorization": f"Bearer {staff_token}", "X-Blipay-Identity": "forged"}
        routed = http.request("GET", f"http://{listen}/api/v1/echo/plain?a=1", headers=headers)
        unrouted = http.request("GET", f"http://{listen}/api/v1/members/{'0' * 8}-0000-0000-0000-{'0' * 12}")
        echo.answers["/api/v1/echo/plain"] = 503  # the service fails: reads fall back to the monolith
        fallen_back = http.request("GET", f"http://{listen}/api/v1/echo/plain", headers=headers)
    finally:
        nginx.terminate()
        nginx.wait(10)

    assert (routed.status, routed.headers.get("X-Served-By")) == (200, "echo"), (
        routed.status,
        routed.headers,
        routed.data[:300],
    )
    request = next(r for r in echo.received if r["target"] == "/api/v1/echo/plain?a=1")
    [identity] = echo.header("X-Blipay-Identity", request)
    assert echo.header("Authorization", request) == []
    assert verify(identity, method="GET", path="/api/v1/echo/plain", query="a=1", body=b"") == Caller("staff", "1")
    assert (unrouted.headers["X-Served-By"], json.loads(unrouted.data)["error"]["code"]) == (
        "monolith",
        "unauthenticated",
    )
    assert (fallen_back.status, fallen_back.headers["X-Served-By"]) == (200, "monolith")


def _wait_for(address: str) -> None:
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((host, int(port))) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {address}")


def test_the_envoy_export_routes_splits_mirrors_and_signs_like_the_table(every_mode):
    config = json.loads(_export("envoy"))

    resources = config["static_resources"]
    manager = resources["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = {r["name"]: r for r in manager["route_config"]["virtual_hosts"][0]["routes"]}
    assert {c["name"] for c in resources["clusters"]} == {"blipay_monolith", "blipay_service_echo"}
    assert routes["echo"]["route"]["cluster"] == "blipay_service_echo"
    assert [c["weight"] for c in routes["echo-canary"]["route"]["weighted_clusters"]["clusters"]] == [20, 80]
    assert routes["echo-canary"]["route"]["hash_policy"]  # sticky per caller
    assert routes["echo-shadow"]["route"]["request_mirror_policies"][0]["cluster"] == "blipay_service_echo"
    assert routes["monolith"]["match"] == {"prefix": "/"}
    assert manager["request_headers_to_remove"] == ["x-blipay-identity"]
    authz = manager["http_filters"][0]["typed_config"]["http_service"]
    assert authz["authorization_response"]["allowed_upstream_headers"]["patterns"] == [{"exact": "x-blipay-identity"}]
    assert "retry_policy" not in routes["echo-canary"]["route"]  # it takes POST: no retries
