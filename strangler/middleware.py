"""The strangler: right after the request id and Django's security middleware (whose SSL
redirect and HSTS cover routed requests too). A request its table doesn't
route goes on to the monolith at the cost of one scan of a few compiled patterns; a routed
one is served as its route says (strangler.proxy)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from blipay.identity.internal import strip_client_copies
from blipay.observability.metrics import METRICS_PATH
from strangler import proxy
from strangler.shadow import BYPASS
from strangler.table import table


class StranglerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only the monolith signs identities: a client's copy is dropped in every variant.
        strip_client_copies(request.META)
        # The shadow worker asking the monolith itself; or the monolith's own metrics, which
        # no route may send to a service (whose /metrics is its own, scraped directly).
        if request.META.get(BYPASS) or request.path_info == METRICS_PATH:
            return self.get_response(request)
        matched = table.match(request.method, request.path_info)
        if matched is None:
            return self.get_response(request)
        request.strangler_route = matched.route.name  # the metrics' route label if it is forwarded
        return proxy.handle(request, matched.route, self.get_response)
