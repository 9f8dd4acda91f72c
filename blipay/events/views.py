"""The backbone's one internal endpoint: has this deployment applied an event? The
strangler asks a service this to know that a backfill or a handover marker went through."""

from django.http import HttpRequest, JsonResponse
from django_outbox_pattern.models import Received

from blipay.events.inbox import inbox_id
from blipay.identity.internal import signed_only


@signed_only
def inbox_has(request: HttpRequest, module: str, event_id: str) -> JsonResponse:
    applied = Received.objects.filter(msg_id=inbox_id(module, event_id)).exists()
    return JsonResponse({"module": module, "event_id": event_id, "applied": applied}, status=200 if applied else 404)
