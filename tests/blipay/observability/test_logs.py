"""JSON log lines carry what they belong to (request, event, module) and no secret."""

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from blipay.events.consumers import drain
from blipay.observability.logs import REDACTED, JsonFormatter
from tests.eventsink.models import Switch
from tests.observed import METRICS_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict]]]:
    """Blipay's log lines, as the JSON format writes them, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("blipay")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


def test_a_line_written_during_a_request_carries_its_request_and_correlation_id(lines):
    response = APIClient().get("/test/say", HTTP_X_REQUEST_ID="req-logs-1", HTTP_AUTHORIZATION="Bearer s3cr3t-t0ken")
    assert response.status_code == 200

    said = next(line for line in lines() if line["logger"] == "blipay.tests")
    assert said["level"] == "WARNING"
    assert (said["request_id"], said["correlation_id"]) == ("req-logs-1", "req-logs-1")
    assert said["message"] == f"asked with Bearer {REDACTED}"
    assert "s3cr3t-t0ken" not in json.dumps(lines())


def test_each_request_writes_one_access_line_with_its_route_module_and_status(lines):
    response = APIClient().post(
        "/api/v1/members",
        {"name": "Ani", "email": "ani-logs@example.id", "phone": "+628123"},
        format="json",
        HTTP_X_REQUEST_ID="req-logs-2",
    )
    assert response.status_code == 201
    access = [line for line in lines() if line["logger"] == "blipay.http"]
    assert len(access) == 1
    assert access[0]["request_id"] == access[0]["correlation_id"] == "req-logs-2"
    assert (access[0]["route"], access[0]["module"], access[0]["status"]) == ("/api/v1/members", "members", 201)
    assert access[0]["duration_ms"] >= 0
    # The new member's token is in the response, never in a line.
    assert response.json()["token"] not in json.dumps(lines())


def test_a_line_written_while_a_module_handles_an_event_carries_the_event_and_module(lines, sink_queue):
    Switch.objects.create(subject="web", mode=Switch.FAIL)  # the sink's handler fails for /test/ping's events
    event_id = APIClient().get("/test/ping", HTTP_X_REQUEST_ID="req-logs-3").json()["event_id"]
    drain()

    failed = [line for line in lines() if line["logger"] == "blipay.events.consumers" and line["level"] == "WARNING"]
    about_it = [line for line in failed if line.get("event_id") == event_id]
    assert about_it, failed
    for line in about_it:
        assert (line["module"], line["correlation_id"]) == ("sink", "req-logs-3")
        assert "causation_id" not in line  # a request caused it, not another event


def test_the_metrics_token_never_reaches_a_line(lines, settings):
    settings.BLIPAY_METRICS_TOKEN = METRICS_TOKEN
    assert APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").status_code == 200
    assert METRICS_TOKEN not in json.dumps(lines())


def test_secret_looking_fields_and_values_are_redacted(lines):
    logging.getLogger("blipay.tests").info(
        "bank said X-Bank-Signature: t=1,v1=abcdef and api_key=sk_live_42",
        extra={"authorization": "Bearer abc", "api_key": "k", "amount": 5000},
    )
    (line,) = lines()
    assert line["authorization"] == line["api_key"] == REDACTED
    assert line["amount"] == 5000
    assert "abcdef" not in line["message"] and "sk_live_42" not in line["message"]
