"""Payments state for tests, made through the payments services and models directly: no
HTTP, no bank signature, no broker."""

import uuid
from datetime import timedelta

from django.utils import timezone

from apps.payments.models import MerchantReplica, Payment, TopUp
from apps.payments.services import payment_create, topup_create


def known_merchant(name: str = "Warung Kopi") -> str:
    """A merchant id payments knows, as if merchant.saved had been applied."""
    return str(MerchantReplica.objects.create(id=uuid.uuid4(), name=name).id)


def payment(*, member_id: str, merchant_id: str, amount: int) -> Payment:
    """A payment the member made (the balance must cover it), as stored."""
    return Payment.objects.get(id=payment_create(member_id=member_id, merchant_id=merchant_id, amount=amount).id)


def pending_topup(*, member_id: str | None = None, amount: int = 50_000, expired: bool = False) -> TopUp:
    """A top-up waiting for the bank; ``expired`` puts its expiry in the past."""
    topup = topup_create(member_id=member_id or str(uuid.uuid4()), amount=amount)
    if expired:
        TopUp.objects.filter(id=topup.id).update(expires_at=timezone.now() - timedelta(minutes=1))
        topup.refresh_from_db()
    return topup
