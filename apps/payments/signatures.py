"""The bank signs each confirmation: ``X-Bank-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, "<t>.<raw body>")>``. During a rotation of the shared secret,
``BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS`` holds the old one and signatures made with either
are accepted; ours (`bank_confirm`) use the current one."""

import hashlib
import hmac
import time

from django.conf import settings

from apps.payments.errors import InvalidSignature

TOLERANCE = 300  # seconds between the bank's timestamp and ours


def bank_signature(*, raw_body: bytes, timestamp: int, secret: str | None = None) -> str:
    """The header value the bank sends for ``raw_body``, signed with ``secret`` (the current
    secret unless given)."""
    key = (secret if secret is not None else settings.BLIPAY_BANK_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def bank_signature_verify(*, raw_body: bytes, header: str | None, now: float | None = None) -> None:
    """Raise InvalidSignature unless ``header`` signs ``raw_body`` with the current or the
    previous secret, at most TOLERANCE seconds ago."""
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    try:
        stamp = int(parts["t"])
        offered = f"t={stamp},v1={parts['v1']}"
    except (KeyError, ValueError):
        raise InvalidSignature() from None
    if abs((now or time.time()) - stamp) > TOLERANCE:
        raise InvalidSignature()
    secrets = [settings.BLIPAY_BANK_WEBHOOK_SECRET, settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS]
    # Every candidate is compared, so the time taken doesn't tell which secret matched.
    matches = [
        hmac.compare_digest(bank_signature(raw_body=raw_body, timestamp=stamp, secret=s), offered) for s in secrets if s
    ]
    if not any(matches):
        raise InvalidSignature()
