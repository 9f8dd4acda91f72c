"""What the strangler does with a request its table routes: which side serves it, and
what happens when the service fails.

Fallback (API-V1.md, "Failure"): any method falls back to the monolith when the request
provably never reached the service (refused, connect timeout, breaker open, upstream
busy); a safe method (GET, HEAD, OPTIONS) also after a 5xx or a read timeout, once retried;
a write never does once the service may have received it — each side has its own
idempotency records, so the effect could happen twice — and nothing falls back once a
byte of the answer has gone to the client (answers are only streamed after the decision).
A failure the proxy answers itself says so in ``X-Strangler-Error``; a fallback in
``X-Strangler-Fallback``.
"""

import hashlib
import hmac
import random
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from blipay.api.addresses import client_address
from blipay.api.errors import error_body, payload_too_large
from blipay.events.control import POSITION_HEADER
from blipay.identity.credentials import recent_principal_for
from blipay.identity.internal import Caller
from strangler import breaker, shadow, traffic
from strangler.forward import (
    SAFE_METHODS,
    MayHaveReached,
    NotReached,
    Outgoing,
    client_response,
    discard,
    now_ms,
    read_body,
    upstream,
)
from strangler.models import Route
from strangler.routes import step_started

GetResponse = Callable[[HttpRequest], HttpResponse]


def identify(request: HttpRequest) -> Caller | None:
    """The caller a bearer token names; an anonymous Caller without one; None for a token
    that is not valid (the monolith answers that request, with its 401 and its counting)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return Caller(kind=None, id=None)
    scheme, _, secret = header.partition(" ")
    principal = recent_principal_for(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
    return None if principal is None else Caller(kind=principal.kind, id=principal.id)


def caller_key(request: HttpRequest, caller: Caller) -> str:
    """Whom canary stickiness follows: the caller, or for an anonymous one its address."""
    return f"{caller.kind}:{caller.id}" if caller.kind else f"anonymous:{client_address(request.META)}"


def bucket(route: Route, key: str) -> int:
    """0 to 9999, stable for (route, caller): raising the percent only adds callers."""
    digest = hmac.new(route.seed.encode(), f"{route.name}\x00{key}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def in_canary(route: Route, key: str) -> bool:
    return bucket(route, key) < route.percent * 100


def handle(request: HttpRequest, route: Route, get_response: GetResponse) -> HttpResponse:
    caller = identify(request)
    if caller is None or route.service not in settings.BLIPAY_SERVICES:
        return monolith(request, route, get_response)
    if route.mode == Route.SERVICE:
        return to_service(request, route, caller, get_response)
    if route.mode == Route.CANARY:
        if in_canary(route, caller_key(request, caller)):
            return to_service(request, route, caller, get_response)
        return monolith(request, route, get_response)
    if route.mode == Route.SHADOW:
        return shadowed(request, route, caller, get_response)
    return monolith(request, route, get_response)


def monolith(request: HttpRequest, route: Route, get_response: GetResponse) -> HttpResponse:
    started = now_ms()
    response = get_response(request)
    traffic.count(
        route.name,
        Route.MONOLITH,
        step_started(route),
        latency_ms=now_ms() - started,
        requests=1,
        errors=int(response.status_code >= 500),
    )
    response["X-Served-By"] = "monolith"
    return response


def fallback(request: HttpRequest, route: Route, get_response: GetResponse, reason: str) -> HttpResponse:
    traffic.count(route.name, Route.SERVICE, step_started(route), fallbacks=1)
    response = monolith(request, route, get_response)
    response["X-Strangler-Fallback"] = reason
    return response


def proxy_error(route: Route, status: int, reason: str) -> HttpResponse:
    traffic.count(route.name, Route.SERVICE, step_started(route), proxy_errors=1, requests=1, errors=1)
    response = JsonResponse(
        error_body(
            "upstream_timeout" if status == 504 else "upstream_failed",
            f"The {route.service} service did not answer in full ({reason}); the request may have been applied: "
            "retry it with the same Idempotency-Key.",
        ),
        status=status,
    )
    response["X-Strangler-Error"] = reason
    response["X-Served-By"] = route.service
    return response


def to_service(
    request: HttpRequest,
    route: Route,
    caller: Caller,
    get_response: GetResponse,
    *,
    on_answered: Callable[[int, list[bytes], str, str], None] | None = None,
) -> HttpResponse:
    """Forward to the route's service, falling back where that is safe. ``on_answered``
    gets (status, body chunks, content type, stream position) once the body went out."""
    up = upstream(route.service)
    safe = request.method in SAFE_METHODS
    try:
        body = read_body(request)
    except RequestDataTooBig:
        return payload_too_large()
    outgoing = Outgoing.of(request, caller=caller, body=body)
    started = now_ms()
    for attempt in (1, 2):
        if not breaker.allow(route.name, up.name, cooldown=route.breaker_cooldown):
            return fallback(request, route, get_response, "breaker open")
        try:
            answer = outgoing.send(up, connect=route.connect_timeout, read=route.read_timeout)
        except NotReached as exc:
            breaker.failed(route.name, up.name, threshold=route.breaker_failures, reason=str(exc))
            return fallback(request, route, get_response, str(exc))
        except MayHaveReached as exc:
            breaker.failed(route.name, up.name, threshold=route.breaker_failures, reason=str(exc))
            if not safe:
                return proxy_error(route, 504 if "timeout" in str(exc) else 502, str(exc))
            if attempt == 1:
                continue  # an idempotent request may be tried once more
            return fallback(request, route, get_response, str(exc))
        if answer.status >= 500:
            breaker.failed(route.name, up.name, threshold=route.breaker_failures, reason=f"answered {answer.status}")
            if safe:
                discard(up, answer)
                return fallback(request, route, get_response, f"service answered {answer.status}")
        else:
            breaker.succeeded(route.name, up.name)
        break
    status = answer.status
    content_type = answer.headers.get("Content-Type", "")
    stream_position = answer.headers.get(POSITION_HEADER, "")
    tee: list[bytes] | None = [] if on_answered else None

    def done() -> None:
        traffic.count(
            route.name,
            Route.SERVICE,
            step_started(route),
            latency_ms=now_ms() - started,
            requests=1,
            errors=int(status >= 500),
        )
        if on_answered is not None:
            on_answered(status, tee or [], content_type, stream_position)

    response = client_response(request, up, answer, on_done=done, tee=tee)
    if POSITION_HEADER in response:
        del response[POSITION_HEADER]  # between the strangler and its services only
    response.headers.setdefault("X-Served-By", route.service)
    return response


def shadowed(request: HttpRequest, route: Route, caller: Caller, get_response: GetResponse) -> HttpResponse:
    """Serve from ``route.serve``; send a copy to the other side off the request path."""
    try:
        body = read_body(request)
    except RequestDataTooBig:
        return payload_too_large()
    copy = shadow.Copy(route=route, request=Outgoing.of(request, caller=caller, body=body))
    reason = _skip_reason(request, route, body)
    if reason:
        traffic.count(route.name, route.serve, step_started(route), shadow_skipped=1)
    if route.serve == Route.SERVICE:

        def compare_later(status: int, chunks: list[bytes], content_type: str, stream_position: str) -> None:
            if reason:
                return
            if sum(map(len, chunks)) > route.shadow_body_cap:
                traffic.count(route.name, Route.SERVICE, step_started(route), shadow_skipped=1)
                return
            shadow.submit(copy.answered(Route.SERVICE, status, b"".join(chunks), content_type, stream_position))

        # If the service fails and the monolith answers instead, there is nothing to compare.
        return to_service(request, route, caller, get_response, on_answered=compare_later)
    response = monolith(request, route, get_response)
    if not reason and (response.streaming or len(response.content) > route.shadow_body_cap):
        traffic.count(route.name, Route.MONOLITH, step_started(route), shadow_skipped=1)
    elif not reason:
        shadow.submit(
            copy.answered(
                Route.MONOLITH,
                response.status_code,
                response.content,
                response.get("Content-Type", ""),
                shadow.module_position(route),
            )
        )
    return response


def _skip_reason(request: HttpRequest, route: Route, body: bytes) -> str:
    if request.method not in SAFE_METHODS and not route.shadow_writes:
        return "writes are not shadowed on this route"
    if len(body) > route.shadow_body_cap:
        return "body over the cap"
    if random.random() * 100 >= route.shadow_sample:  # noqa: S311 - sampling, not a secret
        return "not sampled"
    return ""
