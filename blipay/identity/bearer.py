"""Bearer authentication: ``Authorization: Bearer <secret>`` for members, merchants and staff."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from blipay.api.addresses import client_address
from blipay.api.limits import FailedAuthentications
from blipay.identity.credentials import recent_principal_for
from blipay.identity.principal import Principal


class BearerAuthentication(BaseAuthentication):
    """The caller a bearer secret names, remembered by the process for a few seconds
    (``recent_principal_for``): a lookup on every request was an eighth of a payment's CPU,
    and the strangler's lookup of the same request is then the only one. A revoked secret
    is refused by every process within ``RECENT_SECONDS``."""

    def authenticate(self, request: Request) -> tuple[Principal, None] | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        failures = FailedAuthentications(credential=header, address=client_address(request.META))
        wait = failures.blocked_for()
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail="Too many failed authentications; try again later.")
        scheme, _, secret = header.partition(" ")
        principal = recent_principal_for(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
        if principal is None:
            failures.record()
            raise exceptions.AuthenticationFailed("Invalid or revoked bearer token.")
        return principal, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="blipay"'
