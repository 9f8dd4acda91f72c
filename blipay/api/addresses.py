"""The caller's address, believing ``X-Forwarded-For`` only from configured proxy hops.

One function for everyone who needs it (the rate limits, the strangler's anonymous
routing key): a client's own ``X-Forwarded-For`` is not evidence of anything, so trusting
it would let a caller dodge a limit by rotating it.
"""

from collections.abc import Mapping

from django.conf import settings


def client_address(meta: Mapping[str, str]) -> str:
    """The caller's address: the peer's, or the one the nearest untrusted hop saw when the
    peer is a hop listed in ``BLIPAY_TRUSTED_PROXIES``."""
    peer = meta.get("REMOTE_ADDR", "")
    trusted = settings.BLIPAY_TRUSTED_PROXIES
    if peer not in trusted:
        return peer
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer
