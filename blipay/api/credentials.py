"""Issuing and checking bearer secrets (member tokens, merchant API keys, staff tokens)."""

import hashlib
import secrets
from dataclasses import dataclass

from blipay.api.models import Credential

_PREFIXES = {Credential.MEMBER: "mbr", Credential.MERCHANT: "mch", Credential.STAFF: "stf"}


@dataclass(frozen=True)
class Principal:
    """Who is calling: DRF's ``request.user`` for bearer-authenticated requests."""

    kind: str
    id: str

    is_authenticated = True
    is_anonymous = False

    @property
    def is_staff(self) -> bool:
        return self.kind == Credential.STAFF

    def is_member(self, member_id: object) -> bool:
        return self.kind == Credential.MEMBER and self.id == str(member_id)

    def is_merchant(self, merchant_id: object) -> bool:
        return self.kind == Credential.MERCHANT and self.id == str(merchant_id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def credential_issue(*, kind: str, subject: str) -> str:
    """Create a credential and return its secret: the only time anyone sees it. Call inside
    the transaction that creates the subject, so neither exists without the other."""
    secret = f"{_PREFIXES[kind]}_{secrets.token_urlsafe(32)}"
    Credential.objects.create(kind=kind, subject=subject, key_hash=_hash(secret), prefix=secret[:10])
    return secret


def principal_for(secret: str) -> Principal | None:
    row = (
        Credential.objects.filter(key_hash=_hash(secret), revoked_at__isnull=True)
        .values_list("kind", "subject")
        .first()
    )
    return Principal(kind=row[0], id=row[1]) if row else None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
