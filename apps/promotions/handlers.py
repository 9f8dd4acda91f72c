from django.utils.dateparse import parse_datetime

from apps.merchants.events import MerchantSaved
from apps.payments.events import PaymentSaved
from apps.promotions.services import cashback_grant, merchant_replica_save
from blipay.events.envelope import Envelope
from blipay.events.subscriptions import Subscription, register_handlers


def merchant_replica_update(event: Envelope) -> None:
    merchant_replica_save(merchant_id=event.data["id"], name=event.data["name"])


def payment_cashback_grant(event: Envelope) -> None:
    if event.sequence != 1:  # later versions are refunds of the same payment, not new payments
        return
    payment = event.data
    cashback_grant(
        payment_id=payment["id"],
        member_id=payment["member_id"],
        merchant_id=payment["merchant_id"],
        amount=payment["amount"],
        paid_at=parse_datetime(payment["created_at"]),
    )


register_handlers(
    "promotions",
    [
        Subscription(MerchantSaved, merchant_replica_update, replayable=True),
        # A side effect, never replayed; it runs even if a refund's newer payment.saved came
        # first, since the new payment is what earns the cashback.
        Subscription(PaymentSaved, payment_cashback_grant, skip_stale=False),
    ],
)
