"""Tracing is off unless the standard OTEL_* variables turn it on."""

import json
import os
import subprocess
import sys

import pytest

from blipay.observability import tracing


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_SERVICE_NAME": "blipay"}, False),
        ({"OTEL_TRACES_EXPORTER": ""}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_SERVICE_NAME": "blipay-monolith"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_which_otel_variables_turn_tracing_on(environ, on):
    assert tracing.wanted(environ) is on


def test_tests_run_with_tracing_off():
    assert not tracing.enabled()
    assert tracing.current_traceparent() is None


_REQUEST_TRACED = """
import django
django.setup()
from django.test import Client
from opentelemetry import trace
status = Client().get("/api/v1/no/such", HTTP_TRACEPARENT="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
trace.get_tracer_provider().force_flush()
"""


def test_otel_variables_at_start_up_export_a_server_span_that_continues_the_callers_trace(settings, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DATABASE_URL", "BROKER_URL"))},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(settings.BASE_DIR),
        "BLIPAY_VAR_DIR": str(tmp_path),
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "blipay-under-test",
    }
    ran = subprocess.run(
        [sys.executable, "-c", _REQUEST_TRACED], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    span = json.loads(ran.stdout)  # the console exporter writes each span as a JSON object
    assert span["name"] == "GET unmatched"
    assert span["kind"] == "SpanKind.SERVER"
    assert span["context"]["trace_id"] == "0x0af7651916cd43dd8448eb211c80319c"
    assert span["parent_id"] == "0xb7ad6b7169203331"
    assert span["attributes"]["http.response.status_code"] == 404
    assert span["resource"]["attributes"]["service.name"] == "blipay-under-test"
