"""The strangler's tests: a real upstream on a loopback port (tests.strangler.upstream), and
for the extraction itself the notifications service as a second real process."""

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential
from strangler import breaker, traffic
from strangler.models import Route
from strangler.routes import route_set
from strangler.table import table
from tests.strangler import service
from tests.strangler.service import Service
from tests.strangler.upstream import Upstream


@pytest.fixture
def echo(settings) -> Iterator[Upstream]:
    """An upstream named ``echo``, known to the monolith through BLIPAY_SERVICES."""
    upstream = Upstream("echo")
    settings.BLIPAY_SERVICES = {**settings.BLIPAY_SERVICES, "echo": upstream.url}
    breaker.reset()
    yield upstream
    upstream.close()


@pytest.fixture
def echo_route(echo) -> Route:
    """``/api/v1/echo/{what}`` (tests/urls.py answers it in the monolith too), all methods."""
    route = Route.objects.create(
        name="echo",
        service="echo",
        methods="GET,HEAD,POST,PUT,DELETE,PATCH",
        path="/api/v1/echo/{what}",
        connect_timeout=0.5,
        read_timeout=0.5,
        breaker_failures=3,
        breaker_cooldown=1.0,
    )
    return route


def set_route(name: str, mode: str, **options) -> Route:
    """Change a route as an operator would, and make this process see it now."""
    route = route_set(name=name, mode=mode, actor="test", via="command", **options)
    table.forget()
    return route


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_token() -> str:
    return credential_issue(kind=Credential.STAFF, subject="1")


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Each test starts from the table in its database (not the snapshot of the one before)
    and ends with this process's counters written."""
    table.forget()
    yield
    traffic.flush()


@pytest.fixture(scope="session")
def notifications_service(django_db_setup, django_db_blocker) -> Iterator[Service]:
    """The extracted notifications service, running for the whole session."""
    running = service.start()
    yield running
    service.stop(running)


@pytest.fixture
def extracted(notifications_service, settings) -> Service:
    """The monolith (this process) knows the service; the route starts at the monolith."""
    settings.BLIPAY_SERVICES = {**settings.BLIPAY_SERVICES, "notifications": notifications_service.url}
    breaker.reset()
    # The contract's first route, as the migration makes it (a transactional test empties tables).
    Route.objects.get_or_create(
        name="notifications",
        defaults={"service": "notifications", "methods": "GET,HEAD", "path": "/api/v1/members/{id}/notifications"},
    )
    table.forget()
    return notifications_service
