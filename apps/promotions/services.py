"""Commands of the promotions module: cashback promotions, and the cashback payments earn."""

from datetime import datetime

from django.db import transaction

from apps.merchants.public import MerchantUnknown, merchant_known
from apps.promotions.errors import InvalidPromotion
from apps.promotions.events import CashbackGranted, PromotionSaved
from apps.promotions.models import CashbackGrant, MerchantReplica, Promotion
from blipay.db import create_once
from blipay.events.outbox import Outbound, emit


def merchant_replica_save(*, merchant_id: str, name: str) -> None:
    """Keep the merchant's current name (from merchant.saved)."""
    MerchantReplica.objects.update_or_create(id=merchant_id, defaults={"name": name})


def promotion_create(
    *, merchant_id: str, percent: int, max_amount: int, starts_at: datetime, ends_at: datetime
) -> Promotion:
    """Start a cashback promotion at a merchant. Raises MerchantUnknown for a merchant this
    module has not heard of, InvalidPromotion when it would end before it starts."""
    if ends_at <= starts_at:
        raise InvalidPromotion(fields={"ends_at": ["Must be after starts_at."]})
    # The replica is the normal path; a merchant whose registration just answered 201 may
    # not have reached it yet, and its own promotion must work at once: ask merchants.
    if not MerchantReplica.objects.filter(id=merchant_id).exists() and not merchant_known(merchant_id=merchant_id):
        raise MerchantUnknown()
    with transaction.atomic():
        promotion = Promotion.objects.create(
            merchant_id=merchant_id, percent=percent, max_amount=max_amount, starts_at=starts_at, ends_at=ends_at
        )
        saved = PromotionSaved(
            id=str(promotion.id),
            merchant_id=str(promotion.merchant_id),
            percent=promotion.percent,
            max_amount=promotion.max_amount,
            starts_at=promotion.starts_at,
            ends_at=promotion.ends_at,
            created_at=promotion.created_at,
        )
        emit(Outbound(saved, subject=str(promotion.id), sequence=promotion.version))
    return promotion


def cashback(*, promotion: Promotion, amount: int) -> int:
    """What a payment of ``amount`` earns under ``promotion``: floor(amount * percent / 100), capped."""
    return min(amount * promotion.percent // 100, promotion.max_amount)


def cashback_grant(
    *, payment_id: str, member_id: str, merchant_id: str, amount: int, paid_at: datetime
) -> CashbackGrant | None:
    """Grant the cashback a payment earned from the merchant's promotion running at
    ``paid_at`` (starts_at <= paid_at < ends_at, and created by then); of several, the one
    that gives the most.

    At most one grant per payment, however often this is called; returns None when the
    payment earns nothing or was granted before. Emits cashback.granted, which the wallet
    credits. Call inside the handler's transaction.
    """
    # Created by then, too: whether a payment earns must not depend on how late its event
    # is handled, so a promotion made (even backdated) after the payment doesn't reach it.
    running = Promotion.objects.filter(
        merchant_id=merchant_id, starts_at__lte=paid_at, ends_at__gt=paid_at, created_at__lte=paid_at
    )
    # Ties go to the promotion created first, so the choice doesn't depend on row order.
    offers = [(cashback(promotion=p, amount=amount), p) for p in running.order_by("created_at", "id")]
    if not offers:
        return None
    earned, promotion = max(offers, key=lambda offer: offer[0])
    if earned <= 0:
        return None
    with transaction.atomic():
        grant = create_once(
            CashbackGrant,
            key={"payment_id": payment_id},
            promotion=promotion,
            member_id=member_id,
            merchant_id=merchant_id,
            payment_amount=amount,
            amount=earned,
        )
        if grant is None:  # granted before, or concurrently, for this payment
            return None
        granted = CashbackGranted(
            id=str(grant.id),
            promotion_id=str(promotion.id),
            payment_id=str(grant.payment_id),
            member_id=str(grant.member_id),
            merchant_id=str(grant.merchant_id),
            amount=grant.amount,
        )
        emit(Outbound(granted, subject=str(grant.id), sequence=1))
    return grant
