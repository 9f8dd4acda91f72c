"""The one endpoint a production proxy needs from the monolith: nginx's ``auth_request``
asks it who the caller is, and passes the signed identity on to the service (see
``strangler export``). Only the edge may ask: it proves itself with a token derived from
the internal key, so the endpoint can't be used to mint identities from outside."""

import hashlib
import hmac
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from blipay.api.errors import error_body
from blipay.identity.internal import HEADER, sign
from strangler.proxy import identify

EDGE_TOKEN_HEADER = "X-Blipay-Edge-Token"  # noqa: S105 - a header name, not a secret


def edge_token() -> str:
    return hmac.new(settings.BLIPAY_INTERNAL_KEY.encode(), b"strangler-edge", hashlib.sha256).hexdigest()


@csrf_exempt
def edge_identity(request: HttpRequest) -> HttpResponse:
    if not hmac.compare_digest(request.headers.get(EDGE_TOKEN_HEADER, ""), edge_token()):
        return JsonResponse(error_body("forbidden", "Only the edge proxy may ask."), status=403)
    caller = identify(request)
    if caller is None:
        return JsonResponse(error_body("unauthenticated", "Invalid or revoked bearer token."), status=401)
    # nginx names the original request in headers; Envoy's ext_authz appends its path to
    # ours and keeps its method.
    original = urlsplit(request.headers.get("X-Original-URI") or request.META.get("QUERY_STRING", ""))
    response = HttpResponse(status=200)
    # The edge's subrequest carries no body: the edge routes only bodiless (safe) methods.
    response[HEADER] = sign(
        method=request.headers.get("X-Original-Method") or request.method,
        path=unquote(original.path),
        query=original.query,
        body=b"",
        caller=caller,
    )
    return response
