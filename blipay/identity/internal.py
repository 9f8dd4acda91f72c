"""The signed identity the monolith forwards to its services: ``X-Blipay-Identity``.

The monolith authenticates the caller (bearer credentials live only there) and tells an
extracted service who it is, in a header the service can check without a copy of any
credential::

    X-Blipay-Identity: v1.<base64url JSON claims>.<base64url HMAC-SHA256>

The claims bind the signature to this one request (method, path, query string, body hash),
to the caller (subject and roles), to a moment (issued at, valid ``MAX_AGE`` seconds) and to
a nonce, so a captured header can't be replayed, moved to another request or altered. The
key id lets keys rotate: signatures made with ``BLIPAY_INTERNAL_KEY`` or, during a rotation,
``BLIPAY_INTERNAL_KEY_PREVIOUS`` are accepted; new ones use the current key.
"""

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import urllib3
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from blipay.identity.models import UsedNonce

HEADER = "X-Blipay-Identity"
META_KEY = "HTTP_X_BLIPAY_IDENTITY"
MAX_AGE = 30  # seconds either side of now: clocks of one deployment agree to well within it


class IdentityRefused(Exception):
    """The header is missing, malformed, forged, expired or replayed; ``str()`` says which."""


@dataclass(frozen=True)
class Caller:
    """Who the monolith says is calling: ``kind`` and ``id`` are None for an anonymous caller."""

    kind: str | None
    id: str | None


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def _keys() -> dict[str, bytes]:
    keys = [settings.BLIPAY_INTERNAL_KEY, settings.BLIPAY_INTERNAL_KEY_PREVIOUS]
    return {key_id(key): key.encode() for key in keys if key}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(*, method: str, path: str, query: str, body: bytes, caller: Caller, now: float | None = None) -> str:
    """The header value for one request. Every call makes a fresh nonce: a retry or a
    shadow copy is signed again, never resent with the same header."""
    claims = {
        "kid": key_id(settings.BLIPAY_INTERNAL_KEY),
        "iat": int(now if now is not None else time.time()),
        "nonce": secrets.token_hex(16),
        "sub": None if caller.kind is None else f"{caller.kind}:{caller.id}",
        "roles": [] if caller.kind is None else [caller.kind],
        "m": method.upper(),
        "p": path,
        "q": query,
        "bh": hashlib.sha256(body).hexdigest(),
    }
    payload = "v1." + _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(settings.BLIPAY_INTERNAL_KEY.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(value: str | None, *, method: str, path: str, query: str, body: bytes) -> Caller:
    """Check a header value against the request it came with; return the caller, or
    raise IdentityRefused. A valid header is accepted once: its nonce is then used up."""
    if not value:
        raise IdentityRefused("missing")
    try:
        version, encoded, mac = value.split(".")
        claims = json.loads(_unb64(encoded))
        signature = _unb64(mac)
    except (ValueError, TypeError) as exc:
        raise IdentityRefused("malformed") from exc
    if version != "v1" or not isinstance(claims, dict):
        raise IdentityRefused("malformed")
    key = _keys().get(str(claims.get("kid")))
    if key is None:
        raise IdentityRefused("unknown key")
    expected = hmac.new(key, f"{version}.{encoded}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise IdentityRefused("bad signature")
    issued = claims.get("iat")
    if not isinstance(issued, int) or abs(time.time() - issued) > MAX_AGE:
        raise IdentityRefused("expired")
    bound = (claims.get("m"), claims.get("p"), claims.get("q"), claims.get("bh"))
    if bound != (method.upper(), path, query, hashlib.sha256(body).hexdigest()):
        raise IdentityRefused("signed for another request")
    if not _first_use(str(claims.get("nonce"))):
        raise IdentityRefused("replayed")
    subject = claims.get("sub")
    if subject is None:
        return Caller(kind=None, id=None)
    kind, _, ident = str(subject).partition(":")
    return Caller(kind=kind, id=ident)


def strip_client_copies(meta: dict) -> None:
    """Drop every client-sent variant of the header from a WSGI environ: ``X-Blipay-Identity``,
    ``X_Blipay_Identity`` (same key on most servers) and ``HTTP-X-Blipay-Identity``
    (a doubled ``HTTP_`` prefix), so nothing downstream can mistake one for the monolith's."""
    for key in [key for key in meta if key.startswith("HTTP_") and "BLIPAY_IDENTITY" in key]:
        name = key
        while name.startswith("HTTP_"):
            name = name[5:]
        if name.replace("-", "_") == "X_BLIPAY_IDENTITY":
            del meta[key]


def signed_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An internal endpoint that answers only requests the monolith signed (any caller)."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            verify(
                request.META.get(META_KEY),
                method=request.method,
                path=request.path_info,
                query=request.META.get("QUERY_STRING", ""),
                body=request.body,
            )
        except IdentityRefused as refused:
            return JsonResponse(
                {"error": {"code": "unauthenticated", "message": f"Internal only ({refused})."}}, status=401
            )
        return view(request, *args, **kwargs)

    return checked


def _first_use(nonce: str) -> bool:
    """Record ``nonce`` as used; False if it was already. The record outlives the window in
    which a signature is valid, so a nonce is never accepted twice. Redis when REDIS_URL is
    set (SET NX with an expiry), else a table of this deployment's database: one statement,
    and unlike Django's database cache it never drops a live row to make room."""
    if settings.REDIS_URL:
        return caches["default"].add(f"identity-nonce:{nonce}", 1, timeout=2 * MAX_AGE + 5)
    now = timezone.now()
    table = UsedNonce._meta.db_table
    with connection.cursor() as cursor:
        if secrets.randbelow(100) == 0:  # now and then, forget the nonces that can't come back
            cursor.execute(f"DELETE FROM {table} WHERE expires_at < %s", [now])
        cursor.execute(
            f"INSERT INTO {table} (nonce, expires_at) VALUES (%s, %s) ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
            [nonce, now + timedelta(seconds=2 * MAX_AGE + 5)],
        )
        return cursor.fetchone() is not None


_http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=10))


def signed_get(base: str, path: str) -> urllib3.BaseHTTPResponse:
    """GET an internal endpoint of the deployment at ``base``, signed as the monolith (no
    caller). Raises urllib3's HTTPError when it can't be reached."""
    headers = {HEADER: sign(method="GET", path=path, query="", body=b"", caller=Caller(None, None))}
    return _http.request("GET", base + path, headers=headers)
