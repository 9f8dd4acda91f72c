"""The outermost middleware: every request gets an ``X-Request-ID`` that becomes the
``correlation_id`` of every event it causes, and every response echoes it. API responses
also say which deployment served them (``X-Served-By``), unless the strangler already
set it for an answer it forwarded."""

import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from blipay.api.errors import payload_too_large
from blipay.events.context import CORRELATION_ID, caused_by
from blipay.observability import logs, tracing


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        # An id we can't safely log or put in a header is replaced, not trusted.
        request_id = offered if CORRELATION_ID.match(offered) else str(uuid.uuid4())
        request.request_id = request_id
        # With tracing on, the events this request emits belong to its server span's trace.
        traceparent = tracing.current_traceparent() or request.headers.get("traceparent")
        with (
            caused_by(correlation_id=request_id, causation_id=None, traceparent=traceparent),
            logs.bound(request_id=request_id),
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        if request.path_info.startswith("/api/"):
            response.headers.setdefault("X-Served-By", settings.BLIPAY_DEPLOYMENT)
        return response


class ForwardedProtoMiddleware:
    """``X-Forwarded-Proto`` believed only from a configured proxy hop: a client talking
    plain HTTP to the server directly can't claim https (and so skip the SSL redirect)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("REMOTE_ADDR", "") not in settings.BLIPAY_TRUSTED_PROXIES:
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """A body declared over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413 in the
    contract's body before anything reads it: Django enforces the limit only where
    ``request.body`` is read, and DRF's parsers and the strangler read the stream too. (A
    body that only turns out too large while read raises RequestDataTooBig, which the API's
    exception handler and ``json_400`` answer the same way.) The whole body counts: Blipay
    takes no file uploads, which Django's own check would leave out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if limit is not None and declared > limit:
            return payload_too_large()
        return self.get_response(request)
