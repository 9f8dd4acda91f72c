"""The one place that turns any error into the contract's body, ``{"error": {"code",
"message", "fields"?}}``, and a refusal's code into its status. Never HTML, never a trace."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from blipay.errors import DomainError

logger = logging.getLogger("blipay.api")


# The one place a refusal's code becomes an HTTP status. A code missing here answers 422
# (a test checks every DomainError subclass is listed, so none is missing by accident).
STATUS_OF = {
    "validation_error": status.HTTP_400_BAD_REQUEST,
    "invalid_signature": status.HTTP_401_UNAUTHORIZED,
    "not_found": status.HTTP_404_NOT_FOUND,
    "unknown_reference": status.HTTP_404_NOT_FOUND,
    "member_exists": status.HTTP_409_CONFLICT,
    "merchant_exists": status.HTTP_409_CONFLICT,
    "topup_already_paid": status.HTTP_409_CONFLICT,
    "idempotency_key_in_use": status.HTTP_409_CONFLICT,
    "domain_error": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "amount_mismatch": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "insufficient_balance": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "merchant_not_found": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "refund_exceeds_payment": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "idempotency_key_reused": status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def refuses(*codes: str) -> Callable[[Callable], Callable]:
    """Declare the refusals (error codes) an API handler can answer besides the generic
    ones derived from the view; the schema documents each under its status."""
    unknown = [code for code in codes if code not in STATUS_OF]
    if unknown:
        raise ValueError(f"no status for {unknown}: add them to blipay.api.errors.STATUS_OF")

    def mark(handler: Callable) -> Callable:
        handler.refusals = codes
        return handler

    return mark


def error_response(code: str, message: str, fields: dict[str, Any] | None = None) -> Response:
    """The contract's error answer for a refusal with this code."""
    return Response(error_body(code, message, fields), status=STATUS_OF.get(code, status.HTTP_422_UNPROCESSABLE_ENTITY))


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


_DRF_CODES = {
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_request",
    exceptions.Throttled: "rate_limited",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every error an API view raises ends here."""
    if isinstance(exc, DomainError):
        return error_response(exc.code, exc.message, exc.fields)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", _too_large()), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            error_body("validation_error", "The request has invalid fields.", _fields(exc.detail)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.APIException):
        code = next((c for kind, c in _DRF_CODES.items() if isinstance(exc, kind)), "error")
        response = Response(error_body(code, str(exc.detail)), status=exc.status_code)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            response["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        return response
    logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
    return Response(
        error_body("internal_error", "Something went wrong on our side; nothing was changed."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(name): [str(m) for m in (errors if isinstance(errors, list) else [errors])]
            for name, errors in detail.items()
        }
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def _too_large() -> str:
    return f"The request body is over the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes."


def payload_too_large() -> JsonResponse:
    """The answer to a body over the upload limit, wherever it is found (see BodySizeLimitMiddleware)."""
    return JsonResponse(error_body("payload_too_large", _too_large()), status=413)


def json_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's answer to a SuspiciousOperation outside an API view (e.g. the strangler
    reading a body over the limit): the contract's body, never Django's HTML page."""
    if isinstance(exception, RequestDataTooBig):
        return payload_too_large()
    return JsonResponse(error_body("malformed_request", "The request is malformed."), status=400)


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("internal_error", "Something went wrong on our side."), status=500)
