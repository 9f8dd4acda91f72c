"""What a module's data adds up to, per subject, so two deployments' copies of a module can
be reconciled (``strangler reconcile``). A module registers one function returning
``{subject: [count, sha256 of its rows]}`` computed from its own tables."""

from collections.abc import Callable

Digest = Callable[[], dict[str, list]]

_digests: dict[str, Digest] = {}


def register_digest(module: str, digest: Digest) -> None:
    _digests[module] = digest


def digest(module: str) -> dict[str, list]:
    try:
        return _digests[module]()
    except KeyError:
        raise LookupError(f"module {module!r} has no digest (known: {', '.join(sorted(_digests)) or 'none'})") from None
