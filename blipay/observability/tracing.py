"""OpenTelemetry spans across HTTP → outbox → relay → broker → consumer handler.

Off by default: every helper here is then a cheap no-op and nothing is exported. The
standard ``OTEL_*`` variables switch it on (``configure_from_environment``, at start-up):
``OTEL_TRACES_EXPORTER`` other than ``none``, or ``OTEL_SERVICE_NAME`` or an OTLP endpoint
set, unless ``OTEL_SDK_DISABLED=true``. The exporter is OTLP over HTTP by default
(``OTEL_EXPORTER_OTLP_*`` say where), or ``console``; the sampler is the SDK's
(``OTEL_TRACES_SAMPLER``).

The trace context travels in the event envelope's ``traceparent`` (W3C): an emitted event
carries its ``emit`` span's context, and the relay's publish span and every consuming
module's handler span are children of it, in whichever process they run.
"""

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger("blipay.observability")

_tracer: trace.Tracer | None = None
_propagator = TraceContextTextMapPropagator()

SERVER, PRODUCER, CONSUMER, INTERNAL = SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` variables in ``environ`` ask for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER")
    if exporters is not None:
        return exporters.strip().lower() not in {"", "none"}
    return any(
        environ.get(name)
        for name in ("OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_from_environment(deployment: str) -> None:
    """Start tracing if the environment asks for it (once per process, at start-up)."""
    if _tracer is not None or not wanted(os.environ):
        return
    # The SDK is imported only when tracing is on: a process without it pays nothing.
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    attributes = {"deployment.name": deployment}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = f"blipay-{deployment}"
    provider = SdkTracerProvider(resource=Resource.create(attributes))  # the sampler: OTEL_TRACES_SAMPLER
    for name in filter(None, (n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(","))):
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        else:
            logger.warning("OTEL_TRACES_EXPORTER=%s: unknown exporter ignored (otlp, console)", name)
    install(provider)
    trace.set_tracer_provider(provider)  # for libraries that trace through the global API


def install(provider: TracerProvider | None) -> None:
    """Trace with ``provider`` from now on (None: stop tracing). Tests install one with an
    in-memory exporter."""
    global _tracer
    _tracer = provider.get_tracer("blipay") if provider is not None else None


def enabled() -> bool:
    return _tracer is not None


def context_of(traceparent: str | None) -> Context | None:
    """The parent context a W3C ``traceparent`` names (None: start a new trace)."""
    if not traceparent:
        return None
    return _propagator.extract({"traceparent": traceparent})


def traceparent_of(span: Span) -> str | None:
    """``span``'s context as a W3C ``traceparent`` (None for an invalid one)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def current_traceparent() -> str | None:
    """The ``traceparent`` of the span in progress, when tracing is on and one is."""
    if _tracer is None:
        return None
    return traceparent_of(trace.get_current_span())


@contextmanager
def span(
    name: str, *, kind: SpanKind = INTERNAL, traceparent: str | None = None, attributes: dict[str, Any] | None = None
) -> Iterator[Span | None]:
    """A span around the block, current inside it, child of ``traceparent`` when given (else
    of the current span). Yields None when tracing is off. An exception ends it in error."""
    if _tracer is None:
        yield None
        return
    parent = context_of(traceparent) if traceparent else None
    with _tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes) as current:
        yield current


def start_span(
    name: str, *, kind: SpanKind, traceparent: str | None, attributes: dict[str, Any] | None = None
) -> Span | None:
    """A span the caller ends itself (the relay's, one per message of a batch); not made current."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, context=context_of(traceparent), kind=kind, attributes=attributes)
