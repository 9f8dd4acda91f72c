from apps.merchants.events import MerchantSaved
from apps.payments.events import PaymentMade
from apps.promotions.services import cashback_grant, merchant_replica_save
from blipay.events.envelope import EventMeta
from blipay.events.subscriptions import Subscription, register_handlers


def merchant_replica_update(event: MerchantSaved, meta: EventMeta) -> None:
    merchant_replica_save(merchant_id=event.id, name=event.name)


def payment_cashback_grant(event: PaymentMade, meta: EventMeta) -> None:
    cashback_grant(
        payment_id=event.payment_id,
        member_id=event.member_id,
        merchant_id=event.merchant_id,
        amount=event.amount,
        paid_at=event.paid_at,
    )


register_handlers(
    "promotions",
    [
        Subscription(MerchantSaved, merchant_replica_update, replayable=True),
        # A side effect, never replayed: payment.made comes once per payment, so refunds
        # (later payment.saved versions) never reach it.
        Subscription(PaymentMade, payment_cashback_grant),
    ],
)
