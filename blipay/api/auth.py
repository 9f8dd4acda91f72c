"""Bearer authentication: ``Authorization: Bearer <secret>`` for members, merchants and staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from blipay.api.credentials import Principal, principal_for
from blipay.api.limits import FailedAuthentications

if TYPE_CHECKING:  # DRF's settings import this module while rest_framework.views loads
    from rest_framework.views import APIView


class BearerAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, None] | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        failures = FailedAuthentications(BaseThrottle().get_ident(request))
        wait = failures.blocked_for()
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail="Too many failed authentications; try again later.")
        scheme, _, secret = header.partition(" ")
        principal = principal_for(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
        if principal is None:
            failures.record()
            raise exceptions.AuthenticationFailed("Invalid or revoked bearer token.")
        return principal, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="blipay"'


def allow(*kinds: str) -> type[BasePermission]:
    """A permission class letting through authenticated callers of these kinds."""

    class Allowed(BasePermission):
        message = f"This endpoint is for: {', '.join(kinds)}."

        def has_permission(self, request: Request, view: APIView) -> bool:
            user = request.user
            if not isinstance(user, Principal):
                raise exceptions.NotAuthenticated("Send Authorization: Bearer <token>.")
            return user.kind in kinds

    return Allowed
