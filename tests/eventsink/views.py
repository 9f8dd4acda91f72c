import logging

from django.db import transaction
from django.http import HttpRequest, JsonResponse

from blipay.events.outbox import Outbound, emit
from tests.eventsink.events import SinkPinged


def ping(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        envelope = emit(Outbound(SinkPinged(echo="echo" in request.GET), subject="web", sequence=0))[0]
    return JsonResponse({"event_id": envelope.id})


def say(request: HttpRequest) -> JsonResponse:
    """Writes a log line in a request, quoting a header a careless view might log."""
    logging.getLogger("blipay.tests").warning("asked with %s", request.headers.get("Authorization", "nothing"))
    return JsonResponse({})
