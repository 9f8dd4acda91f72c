"""``Idempotency-Key`` on POST: the same key and body replay the first response.

A key is reserved in its own committed statement, then the request runs in a transaction
that holds the reservation's row lock and stores the response in it before committing. So
a concurrent request with the key finds the row locked (409 ``idempotency_key_in_use``); a
crash leaves a reservation with no response and no effect, which the next try takes over.
Responses of 5xx are not kept: the effect was rolled back and the client may try again.
"""

import functools
import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blipay.api.models import IdempotencyRecord
from blipay.errors import DomainError

RETENTION = timedelta(hours=48)  # the contract promises at least 24 hours


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still running; retry when it has finished."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request."


Handler = Callable[..., Response]


def idempotent(handler: Handler) -> Handler:
    """Decorate an API view's ``post``: honour ``Idempotency-Key`` when the client sends one."""

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: object, **kwargs: object) -> Response:
        return _idempotent_call(handler, view, request, *args, **kwargs)

    return wrapper


def _idempotent_call(handler: Handler, view: APIView, request: Request, *args: object, **kwargs: object) -> Response:
    """Run ``handler`` for ``request``, or replay what it answered to the same key and body.

    Kept apart from the decorator so the rule is a plain function (and mutation testing,
    which leaves decorated functions alone, reaches it).
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return handler(view, request, *args, **kwargs)
    if len(key) > 255:
        raise DomainError("Idempotency-Key is longer than 255 characters.", fields={"Idempotency-Key": ["too long"]})
    caller = str(request.user) if request.user.is_authenticated else "anonymous"
    fingerprint = _fingerprint(request)
    _reserve(caller, key, fingerprint)
    with transaction.atomic():
        record = _lock(caller, key)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.status_code is not None:
            return Response(record.body, status=record.status_code, headers={"Idempotent-Replayed": "true"})
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - rendered by the API's one exception handler
            response = view.handle_exception(exc)
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=response.status_code, body=response.data)
        return response


def _fingerprint(request: Request) -> str:
    # The raw bytes: a retry sends the same body, and reading them first leaves them
    # readable for views that check a signature over them.
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + request.body).hexdigest()


def _reserve(caller: str, key: str, fingerprint: str) -> None:
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(caller=caller, key=key, fingerprint=fingerprint)
    except IntegrityError:
        pass  # reserved before: by an earlier try, or by a request still running


def _lock(caller: str, key: str) -> IdempotencyRecord:
    rows = IdempotencyRecord.objects.filter(caller=caller, key=key)
    if connection.features.has_select_for_update_nowait:
        try:
            return rows.select_for_update(nowait=True).get()
        except DatabaseError as exc:  # the lock is held: the first request is still running
            raise IdempotencyKeyInUse() from exc
    return rows.get()  # SQLite: IMMEDIATE transactions already run one at a time


def forget_old_keys() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
