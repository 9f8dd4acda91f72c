"""Commands of the merchants module."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.merchants.errors import MerchantExists
from apps.merchants.events import MerchantSaved
from apps.merchants.models import Merchant
from blipay.events.outbox import Outbound, emit
from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential


@dataclass(frozen=True)
class Registration:
    merchant: Merchant
    api_key: str


def merchant_register(*, name: str, email: str) -> Registration:
    """Register a merchant and issue its API key (returned once, stored hashed)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                merchant = Merchant.objects.create(name=name.strip(), email=email.strip().lower())
        except IntegrityError:
            raise MerchantExists() from None
        api_key = credential_issue(kind=Credential.MERCHANT, subject=str(merchant.id))
        saved = MerchantSaved(
            id=str(merchant.id),
            name=merchant.name,
            email=merchant.email,
            created_at=merchant.created_at,
            updated_at=merchant.updated_at,
        )
        emit(Outbound(saved, subject=str(merchant.id), sequence=merchant.version))
    return Registration(merchant=merchant, api_key=api_key)
