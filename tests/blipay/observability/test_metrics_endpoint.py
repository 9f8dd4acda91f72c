"""/metrics: who may read it, where it is served, what it reads across processes."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential
from strangler.models import Route
from strangler.table import table
from tests.helpers import purge_module_queues
from tests.observed import METRICS_TOKEN, scrape

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.BLIPAY_METRICS_TOKEN = METRICS_TOKEN


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert "blipay_" not in response.content.decode()


def test_anonymous_scrapes_get_401_in_the_contracts_error_body():
    response = APIClient().get("/metrics")
    _refused(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_metrics_token_gets_401():
    _refused(APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token"), 401, "unauthenticated")


def test_an_api_credential_is_not_the_metrics_token_even_a_staff_one():
    staff_api_token = credential_issue(kind=Credential.STAFF, subject="1")
    _refused(APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {staff_api_token}"), 401, "unauthenticated")


def test_no_token_configured_means_no_token_is_accepted(settings):
    settings.BLIPAY_METRICS_TOKEN = ""
    _refused(APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer "), 401, "unauthenticated")
    _refused(APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer x"), 401, "unauthenticated")


def test_a_signed_in_non_staff_user_gets_403():
    client = APIClient()
    client.force_login(User.objects.create_user("someone", "someone@example.com", "pw"))
    _refused(client.get("/metrics"), 403, "forbidden")


def test_a_staff_session_reads_the_metrics():
    client = APIClient()
    client.force_login(User.objects.create_user("ops", "ops@example.com", "pw", is_staff=True))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "blipay_outbox_pending " in response.content.decode()


def test_the_token_reads_the_backbone_gauges_even_before_any_traffic(settings):
    purge_module_queues()  # declares every module's queues, empty
    metrics = scrape(settings)
    assert metrics.value("blipay_outbox_pending") == 0
    assert metrics.value("blipay_broker_up") == 1
    # Every consuming module's queue and dead-letter queue, named for this deployment.
    assert metrics.has("blipay_queue_messages", module="promotions", queue="blipay.promotions")
    assert metrics.has("blipay_dead_letter_messages", module="promotions", queue="blipay.promotions.dead")


def test_writing_to_metrics_is_refused_with_405():
    response = APIClient().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_no_strangler_route_sends_metrics_to_a_service(settings):
    """A route whose pattern would take /metrics: the monolith still answers it itself."""
    settings.BLIPAY_SERVICES = {**settings.BLIPAY_SERVICES, "elsewhere": "http://127.0.0.1:9"}
    Route.objects.create(name="greedy", service="elsewhere", methods="GET", path="/{anything}", mode=Route.SERVICE)
    table.forget()
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
    assert "X-Strangler-Fallback" not in response
    assert "blipay_http_requests_total" in response.content.decode()


def test_counts_from_several_processes_add_up_in_one_scrape(settings, tmp_path, monkeypatch):
    """Multiprocess mode (what `serve` sets up for gunicorn's workers, Celery and the
    consumers): two other processes count, the web worker's scrape sums them."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    count = (
        "from blipay.observability.metrics import RELAY_EVENTS, CONSUMED;"
        "RELAY_EVENTS.labels('confirmed').inc(3);"
        "CONSUMED.labels('promotions', 'payment.made.v1', 'applied').inc(2)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], check=True, env={**os.environ}, cwd=settings.BASE_DIR)
    metrics = scrape(settings)
    assert metrics.value("blipay_relay_events_total", outcome="confirmed") == 6
    assert metrics.value("blipay_consumer_events_total", module="promotions", outcome="applied") == 4
    assert metrics.value("blipay_outbox_pending") == 0  # the scrape-time gauges are still there
