"""Issuing and checking bearer secrets (member tokens, merchant API keys, staff tokens)."""

import hashlib
import secrets
import time

from django.db import connection
from django.utils import timezone

from blipay.identity.models import Credential
from blipay.identity.principal import Principal

_PREFIXES = {Credential.MEMBER: "mbr", Credential.MERCHANT: "mch", Credential.STAFF: "stf"}


def credential_issue(*, kind: str, subject: str) -> str:
    """Create a credential and return its secret: the only time anyone sees it. Call inside
    the transaction that creates the subject, so neither exists without the other."""
    secret = f"{_PREFIXES[kind]}_{secrets.token_urlsafe(32)}"
    Credential.objects.create(kind=kind, subject=subject, key_hash=_hash(secret), prefix=secret[:10])
    return secret


def principal_for(secret: str) -> Principal | None:
    """Who ``secret`` stands for, unless it is unknown or revoked."""
    return _principal_by_hash(_hash(secret))


def _principal_by_hash(key_hash: str) -> Principal | None:
    # In SQL: every API request that its process doesn't remember asks, and building the
    # ORM's query cost more CPU than the indexed read itself (the credential's unique hash).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, subject FROM {Credential._meta.db_table} WHERE key_hash = %s AND revoked_at IS NULL",
            [key_hash],
        )
        row = cursor.fetchone()
    return Principal(kind=row[0], id=row[1]) if row else None


def credentials_revoke(*, credential_ids: list[int]) -> int:
    """Revoke these credentials (those not revoked yet); return how many. A revoked secret
    stops working at once in this process, and within ``RECENT_SECONDS`` in the others,
    which may remember its caller that long (``recent_principal_for``)."""
    revoking = Credential.objects.filter(id__in=credential_ids, revoked_at__isnull=True)
    for key_hash in revoking.values_list("key_hash", flat=True):
        _recent.pop(key_hash, None)
    return revoking.update(revoked_at=timezone.now())


RECENT_SECONDS = 5.0
_recent: dict[str, tuple[Principal, float]] = {}
_RECENT_MAX = 10_000


def recent_principal_for(secret: str) -> Principal | None:
    """principal_for, remembered by this process for ``RECENT_SECONDS``: for the API's bearer
    authentication and the strangler, which resolves every routed caller before the service
    answers (one lookup serves both). A revocation reaches it within those seconds; an
    unknown secret is never remembered (the monolith answers it, and counts the failure)."""
    key = _hash(secret)
    now = time.monotonic()
    known = _recent.get(key)
    if known is not None and known[1] > now:
        return known[0]
    principal = _principal_by_hash(key)
    if principal is not None:
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[key] = (principal, now + RECENT_SECONDS)
    return principal


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
