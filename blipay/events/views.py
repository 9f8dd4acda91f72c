"""The backbone's internal endpoints, answered to the monolith only (signed requests): has
this deployment applied an event (a backfill's or a handover's marker), what did it emit
and apply of one request's events (the admin's choreography picture), and what does a
module's data add up to here (reconciliation)."""

from django.http import HttpRequest, JsonResponse

from blipay.api.errors import error_body
from blipay.events import inbox
from blipay.events.choreography import InvalidCorrelationId, local_trace, validate_correlation_id
from blipay.events.digests import digest
from blipay.identity.internal import signed_only


@signed_only
def inbox_has(request: HttpRequest, module: str, event_id: str) -> JsonResponse:
    applied = inbox.applied(module, event_id)
    return JsonResponse({"module": module, "event_id": event_id, "applied": applied}, status=200 if applied else 404)


@signed_only
def request_trace(request: HttpRequest, correlation_id: str) -> JsonResponse:
    try:
        correlation_id = validate_correlation_id(correlation_id)
    except InvalidCorrelationId as exc:
        return JsonResponse(error_body("validation_error", str(exc), {"correlation_id": [str(exc)]}), status=400)
    return JsonResponse({"correlation_id": correlation_id, **local_trace(correlation_id).to_dict()})


@signed_only
def module_digest(request: HttpRequest, module: str) -> JsonResponse:
    try:
        return JsonResponse({"module": module, "subjects": digest(module)})
    except LookupError as exc:
        return JsonResponse({"error": {"code": "not_found", "message": str(exc)}}, status=404)
