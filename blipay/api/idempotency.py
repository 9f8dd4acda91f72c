"""``Idempotency-Key`` on POST: the same key and body replay the first response.

A key is reserved in its own committed statement, then the request runs in a transaction
that holds the reservation's row lock and stores the response in it before committing. So
a concurrent request with the key finds the row locked (409 ``idempotency_key_in_use``); a
crash leaves a reservation with no response and no effect, which the next try takes over.
Responses of 5xx are not kept: the effect was rolled back and the client may try again.

Keys are per caller: an authenticated caller's are theirs; an anonymous caller is its client
address (``blipay.api.addresses.client_address``, the one the registration limit counts),
so another anonymous client sending the same key gets a result of its own, never this one's.

A replay answers the first status and body whole, as the contract says, secrets included:
a client that lost a registration's answer gets its token or API key by retrying. Those
fields (the view lists them in ``shown_once``) are never stored readable: they are sealed
(Fernet) with a key derived from ``SECRET_KEY``, the caller and the Idempotency-Key, and
the row keeps only the key's hash. So the database, a backup of it, or its reader with
the ``SECRET_KEY`` too can't open them; only the caller presenting the key again can.
"""

import base64
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blipay.api.addresses import client_address
from blipay.api.models import IdempotencyRecord
from blipay.db import db_values, insert_rows
from blipay.errors import DomainError

RETENTION = timedelta(hours=48)  # the contract promises at least 24 hours
MAX_KEY_LENGTH = 255


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still running; retry when it has finished."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInvalid(DomainError):
    code = "validation_error"
    message = "The request has invalid fields."


Handler = Callable[..., Response]


def idempotent(handler: Handler) -> Handler:
    """Decorate an API view's ``post``: honour ``Idempotency-Key`` when the client sends one.
    Fields named in the view's ``shown_once`` are stored sealed, openable with the key only."""

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: object, **kwargs: object) -> Response:
        return _idempotent_call(handler, view, request, *args, **kwargs)

    wrapper.idempotent = True
    return wrapper


def _idempotent_call(handler: Handler, view: APIView, request: Request, *args: object, **kwargs: object) -> Response:
    """Run ``handler`` for ``request``, or replay what it answered to the same key and body.

    Kept apart from the decorator so the rule is a plain function (and mutation testing,
    which leaves decorated functions alone, reaches it).
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return handler(view, request, *args, **kwargs)
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(fields={"Idempotency-Key": [f"At most {MAX_KEY_LENGTH} characters."]})
    caller = str(request.user) if request.user.is_authenticated else f"anonymous:{client_address(request.META)}"
    fingerprint = _fingerprint(request)
    seal = _seal(caller, key)
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    _reserve(caller, key_hash, fingerprint)
    with transaction.atomic():
        record = _lock(caller, key_hash)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.status_code is not None:
            body = record.body if not record.sealed else {**record.body, **json.loads(seal.decrypt(record.sealed))}
            return Response(body, status=record.status_code, headers={"Idempotent-Replayed": "true"})
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - rendered by the API's one exception handler
            response = view.handle_exception(exc)
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        body, secrets = _split(response.data, getattr(view, "shown_once", ()))
        sealed = seal.encrypt(json.dumps(secrets).encode()).decode() if secrets else ""
        _keep(record.pk, status_code=response.status_code, body=body, sealed=sealed)
        return response


def _fingerprint(request: Request) -> str:
    # The raw bytes: a retry sends the same body, and reading them first leaves them
    # readable for views that check a signature over them.
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + request.body).hexdigest()


def _split(body: object, names: tuple[str, ...]) -> tuple[object, dict]:
    """The body without the fields shown once, and those fields."""
    if not isinstance(body, dict) or not names:
        return body, {}
    return (
        {name: value for name, value in body.items() if name not in names},
        {name: body[name] for name in names if name in body},
    )


def _seal(caller: str, key: str) -> Fernet:
    derived = hmac.new(settings.SECRET_KEY.encode(), f"idempotency\0{caller}\0{key}".encode(), "sha256").digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _reserve(caller: str, key_hash: str, fingerprint: str) -> None:
    # One statement in autocommit; a key reserved before (by an earlier try, or by a
    # request still running) is left as it is.
    row = {"caller": caller, "key": key_hash, "fingerprint": fingerprint, "sealed": "", "created_at": timezone.now()}
    insert_rows(IdempotencyRecord, [row], unless_conflict_on=("caller", "key"))  # no response yet: NULLs


# The lock and the kept response are written in SQL: through the ORM's get() and update()
# a key added 1.9 ms of CPU to a payment in process (PostgreSQL), in SQL 1.0 ms.
_TABLE = IdempotencyRecord._meta.db_table
_BODY = IdempotencyRecord._meta.get_field("body")


def _lock(caller: str, key_hash: str) -> IdempotencyRecord:
    """The key's row, locked until the transaction ends; IdempotencyKeyInUse if a running
    request holds it (SQLite: IMMEDIATE transactions already run one at a time)."""
    nowait = " FOR UPDATE NOWAIT" if connection.features.has_select_for_update_nowait else ""
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                f"SELECT id, fingerprint, status_code, body, sealed FROM {_TABLE}"
                f" WHERE caller = %s AND key = %s{nowait}",
                [caller, key_hash],
            )
        except DatabaseError as exc:  # the lock is held: the first request is still running
            raise IdempotencyKeyInUse() from exc
        pk, fingerprint, status_code, body, sealed = cursor.fetchone()  # _reserve made it
    body = _BODY.from_db_value(body, None, connection)
    return IdempotencyRecord(
        id=pk, caller=caller, key=key_hash, fingerprint=fingerprint, status_code=status_code, body=body, sealed=sealed
    )


def _keep(pk: int, *, status_code: int, body: object, sealed: str) -> None:
    """Store the response in the locked row, committed with the request's effect."""
    values = db_values(IdempotencyRecord, {"status_code": status_code, "body": body, "sealed": sealed, "id": pk})
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_TABLE} SET status_code = %s, body = %s, sealed = %s WHERE id = %s", values)


def forget_old_keys() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
