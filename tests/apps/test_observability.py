"""One payment, seen from outside: the metrics a scrape shows move, and with tracing on it
is one trace from the request through the relay to every module that consumes its events."""

from collections.abc import Iterator

import pytest
from django_outbox_pattern.models import Published
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from blipay.events.subscriptions import consuming_modules, routing_keys
from blipay.observability import tracing
from tests.observed import scrape

pytestmark = pytest.mark.django_db(transaction=True)


def _emitted_by(request_id: str) -> list[dict]:
    """The envelopes of every event one request set off, its handlers' included."""
    return [row.body for row in Published.objects.filter(body__correlation_id=request_id).order_by("added")]


def _routing_key(envelope: dict) -> str:
    return f"{envelope['type']}.v{envelope['version']}"


def _consumers_of(envelope: dict) -> list[str]:
    return [module for module in consuming_modules() if _routing_key(envelope) in routing_keys(module)]


@pytest.fixture
def paying(register_member, register_merchant, fund):
    merchant = register_merchant()
    member = register_member()
    fund(member, 100_000)

    def pay(amount: int = 30_000):
        response = member.client.post("/api/v1/payments", {"merchant_id": merchant.id, "amount": amount}, format="json")
        assert response.status_code == 201, response.content
        return response

    return pay


def test_a_payment_moves_the_http_relay_and_consumer_metrics(paying, pump, settings):
    before = scrape(settings)
    paid = paying()
    pump()
    after = scrape(settings)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    route = {"method": "POST", "route": "/api/v1/payments"}
    assert moved("blipay_http_requests_total", **route, status="201") == 1
    assert moved("blipay_http_request_duration_seconds_count", **route) == 1
    events = _emitted_by(paid["X-Request-ID"])
    assert events, "the payment emitted events"
    assert moved("blipay_relay_events_total", outcome="confirmed") >= len(events)
    assert moved("blipay_relay_confirm_seconds_count") >= 1
    for envelope in events:
        for module in _consumers_of(envelope):
            applied = {"module": module, "event_type": _routing_key(envelope), "outcome": "applied"}
            assert moved("blipay_consumer_events_total", **applied) >= 1, applied
            assert moved("blipay_consumer_lag_seconds_count", module=module) >= 1
    # Everything was relayed and consumed: nothing waits anywhere.
    assert after.value("blipay_outbox_pending") == 0
    assert after.value("blipay_outbox_oldest_pending_age_seconds") == 0
    assert after.value("blipay_queue_messages") == 0
    assert after.value("blipay_dead_letter_messages") == 0


def test_the_route_label_is_the_url_pattern_never_the_raw_path(paying, register_member, settings):
    payment_id = paying().json()["id"]
    stranger = register_member()
    assert stranger.client.get(f"/api/v1/payments/{payment_id}").status_code == 404
    stranger.client.get("/api/v1/no/such/thing")

    metrics = scrape(settings)
    routes = metrics.label_values("blipay_http_requests_total", "route")
    assert "/api/v1/payments/<uuid:payment_id>" in routes
    assert "unmatched" in routes
    assert not any(payment_id in route or "no/such" in route for route in routes)
    assert (
        metrics.value(
            "blipay_http_requests_total", method="GET", route="/api/v1/payments/<uuid:payment_id>", status="404"
        )
        >= 1
    )


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, every span kept in memory (the SDK's in-memory exporter)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)
        provider.shutdown()


def test_one_payment_is_one_trace_from_the_request_through_the_relay_to_each_consuming_module(paying, pump, spans):
    spans.clear()  # the set-up's registrations and top-up are traces of their own
    paid = paying()
    pump()

    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /api/v1/payments"]
    assert len(server) == 1
    trace_id = server[0].context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    assert {s.attributes.get("blipay.request_id") for s in server} == {paid["X-Request-ID"]}

    events = _emitted_by(paid["X-Request-ID"])
    published = {s.attributes["messaging.message.id"] for s in in_trace if s.kind == SpanKind.PRODUCER}
    assert published == {envelope["id"] for envelope in events}, "the relay published each event in this trace"
    handled = {
        (s.attributes["blipay.module"], s.attributes["messaging.message.id"])
        for s in in_trace
        if s.kind == SpanKind.CONSUMER
    }
    expected = {(module, envelope["id"]) for envelope in events for module in _consumers_of(envelope)}
    assert expected, "someone consumes a payment's events"
    assert handled == expected, "each consuming module handled each event in this trace"
    assert "promotions" in {module for module, _ in handled}  # payment.made's consumer (cashback)
    # Nothing of this payment landed in another trace.
    others = [s for s in finished if s.context.trace_id != trace_id]
    assert not [s for s in others if s.attributes.get("messaging.message.id") in {e["id"] for e in events}]
    # Parentage: each event's publish and handling spans are children of the span that emitted it.
    by_id = {s.context.span_id: s for s in in_trace}
    for span in in_trace:
        if span.kind in {SpanKind.PRODUCER, SpanKind.CONSUMER}:
            assert span.parent is not None and span.parent.span_id in by_id
            assert by_id[span.parent.span_id].name.startswith("emit ")
    # And each envelope carries its emit span's context.
    emit_spans = {s.context.span_id for s in in_trace if s.name.startswith("emit ")}
    for envelope in events:
        _, trace_hex, span_hex, _ = envelope["traceparent"].split("-")
        assert int(trace_hex, 16) == trace_id
        assert int(span_hex, 16) in emit_spans


def test_with_tracing_off_events_still_carry_a_traceparent(paying, pump):
    assert not tracing.enabled()
    paid = paying()
    pump()
    for envelope in _emitted_by(paid["X-Request-ID"]):
        assert envelope["traceparent"].startswith("00-")
