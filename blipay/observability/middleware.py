"""The outermost middleware: measures every request (metrics by route pattern, one access
log line) and, when tracing is on, wraps it in a server span. The strangler's routing and
everything after it happen inside."""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from opentelemetry.trace import Status, StatusCode

from blipay.observability import logs, tracing
from blipay.observability.metrics import HTTP_DURATION, HTTP_REQUESTS

access_log = logging.getLogger("blipay.http")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The label of a request no URL pattern took: a label per raw path would be unbounded.
UNMATCHED = "unmatched"


class ObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        token = logs.bind()  # what is bound from here on (process_view, the access line) ends with the request
        try:
            response = self._traced(request) if tracing.enabled() else self.get_response(request)
            elapsed = time.perf_counter() - started
            method = request.method if request.method in _METHODS else "other"
            route = route_of(request)
            HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
            HTTP_DURATION.labels(method, route).observe(elapsed)
            request_id = getattr(request, "request_id", None)
            # The request's own context (RequestIDMiddleware's, process_view's) has closed by now.
            logs.bind(
                request_id=request_id,
                correlation_id=request_id,
                module=module_of(request.resolver_match.func) if request.resolver_match else None,
            )
            access_log.info(
                "%s %s %d",
                request.method,
                request.path_info,
                response.status_code,
                extra={"route": route, "status": response.status_code, "duration_ms": round(elapsed * 1000, 2)},
            )
        finally:
            logs.unbind(token)
        return response

    def process_view(self, request: HttpRequest, view: Callable, args: Any, kwargs: Any) -> None:
        """The lines the view writes say which module it belongs to."""
        module = module_of(view)
        if module:
            logs.bind(module=module)

    def _traced(self, request: HttpRequest) -> HttpResponse:
        with tracing.span(
            request.method or "HTTP",
            kind=tracing.SERVER,
            traceparent=request.headers.get("traceparent"),
            attributes={"http.request.method": request.method or "", "url.path": request.path_info},
        ) as span:
            response = self.get_response(request)
            route = route_of(request)
            span.update_name(f"{request.method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status_code)
            if getattr(request, "request_id", None):
                span.set_attribute("blipay.request_id", request.request_id)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served ``request`` (``/api/v1/payments/<uuid:payment_id>``), the
    strangler route that forwarded it, or ``unmatched``."""
    match = request.resolver_match
    if match is not None and match.route:
        return "/" + match.route
    forwarded = getattr(request, "strangler_route", None)
    return f"strangler:{forwarded}" if forwarded else UNMATCHED


def module_of(view: Callable) -> str | None:
    """The module a view belongs to: ``apps.payments.api`` → ``payments``, ``blipay.events.views``
    → ``events``; None for another package's (the admin's)."""
    parts = (getattr(view, "__module__", None) or "").split(".")
    return parts[1] if parts[0] in {"apps", "blipay"} and len(parts) > 1 else None
