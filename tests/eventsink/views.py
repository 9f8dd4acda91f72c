from django.db import transaction
from django.http import HttpRequest, JsonResponse

from blipay.events.outbox import emit
from tests.eventsink.events import SinkPinged


def ping(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        envelope = emit(SinkPinged, subject="web", sequence=0, data={"echo": "echo" in request.GET})
    return JsonResponse({"event_id": envelope.id})
