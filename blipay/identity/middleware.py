"""An extracted service's front door: no valid signed identity, no API.

Every ``/api/v1/`` request must carry the monolith's ``X-Blipay-Identity``, checked against
that very request; anything else answers 401 in the contract's error body, so calling a
service directly gets nothing. The caller it names becomes DRF's ``request.user``.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from blipay.api.errors import error_body
from blipay.events.control import POSITION_HEADER, position
from blipay.identity.internal import META_KEY, IdentityRefused, strip_client_copies, verify
from blipay.identity.principal import Principal

API_PREFIX = "/api/v1/"


class ServiceIdentityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        signed = request.META.pop(META_KEY, None)
        strip_client_copies(request.META)
        try:
            caller = verify(
                signed,
                method=request.method,
                path=request.path_info,
                query=request.META.get("QUERY_STRING", ""),
                body=request.body,
            )
        except IdentityRefused as refused:
            response = JsonResponse(
                error_body("unauthenticated", f"This service answers the Blipay monolith only ({refused})."),
                status=401,
            )
            response["WWW-Authenticate"] = 'Blipay-Identity realm="blipay"'
            return response
        request.blipay_caller = None if caller.kind is None else Principal(kind=caller.kind, id=caller.id)
        response = self.get_response(request)
        # How far this service has read the stream: the strangler's comparison tells a
        # lagging answer from a wrong one with it.
        read_up_to = position(settings.BLIPAY_MODULES)
        response[POSITION_HEADER] = read_up_to.isoformat() if read_up_to else ""
        return response


class SignedIdentityAuthentication(BaseAuthentication):
    """DRF authentication of a service: the caller the middleware verified, if any."""

    def authenticate(self, request: Request) -> tuple[Principal, None] | None:
        principal = getattr(request._request, "blipay_caller", None)
        return None if principal is None else (principal, None)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="blipay"'
