"""What other modules (and composition roots such as the demo) may ask the merchants module
synchronously. Frozen data, never models."""

from dataclasses import dataclass

from apps.merchants import services
from apps.merchants.errors import MerchantExists, MerchantUnknown
from apps.merchants.models import Merchant

__all__ = [
    "MerchantExists",
    "MerchantRegistered",
    "MerchantUnknown",
    "merchant_id_by_email",
    "merchant_known",
    "merchant_register",
]


@dataclass(frozen=True)
class MerchantRegistered:
    id: str
    api_key: str  # the merchant's bearer secret: this is the only time anyone sees it


def merchant_register(*, name: str, email: str) -> MerchantRegistered:
    """Register a merchant (as POST /merchants does). Raises MerchantExists for an email
    already registered."""
    registration = services.merchant_register(name=name, email=email)
    return MerchantRegistered(id=str(registration.merchant.id), api_key=registration.api_key)


def merchant_id_by_email(*, email: str) -> str | None:
    merchant_id = Merchant.objects.filter(email=email.strip().lower()).values_list("id", flat=True).first()
    return str(merchant_id) if merchant_id else None


def merchant_known(*, merchant_id: str) -> bool:
    """Whether the merchant is registered, as of now: for a module whose replica (fed by
    merchant.saved) hasn't heard of it yet, when a client's own registration must be usable
    at once (its 201 came before the event reached the replica)."""
    return Merchant.objects.filter(id=merchant_id).exists()
