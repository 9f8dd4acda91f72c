"""The monolith's side of the test route ``/api/v1/echo/{what}``: the same document the
test upstream answers, minus its noise, and a record of every call."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

calls: list[str] = []
VALUE = {"value": 1}


@csrf_exempt
def monolith_echo(request: HttpRequest, what: str) -> JsonResponse:
    calls.append(f"{request.method} {request.get_full_path()}")
    target = request.get_full_path()
    return JsonResponse(
        {"value": VALUE["value"], "target": target, "method": request.method, "body": request.body.decode()},
        json_dumps_params={"separators": (", ", ": ")},
    )
