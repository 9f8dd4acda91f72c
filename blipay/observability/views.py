"""``GET /metrics``: Prometheus' scrape, for operators only. A scraper sends
``Authorization: Bearer <BLIPAY_METRICS_TOKEN>``; a person signed in to the admin as staff
may look too. Anyone else gets the contract's error body."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST

from blipay.api.errors import error_body
from blipay.observability.metrics import exposition


def metrics(request: HttpRequest) -> HttpResponse:
    if request.method not in {"GET", "HEAD"}:
        response = JsonResponse(error_body("method_not_allowed", f'Method "{request.method}" not allowed.'), status=405)
        response["Allow"] = "GET, HEAD"
        return response
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> JsonResponse | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    token = settings.BLIPAY_METRICS_TOKEN
    if scheme.lower() == "bearer" and secret.strip():
        # Constant time: the comparison's duration says nothing about how much of it matched.
        if token and hmac.compare_digest(secret.strip().encode(), token.encode()):
            return None
        return _unauthenticated("The metrics token is not valid.")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return _unauthenticated("Metrics need the metrics token or a staff session.")
    if not user.is_staff:
        return JsonResponse(error_body("forbidden", "Metrics are for staff only."), status=403)
    return None


def _unauthenticated(message: str) -> JsonResponse:
    response = JsonResponse(error_body("unauthenticated", message), status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
