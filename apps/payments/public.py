"""What other modules (and composition roots such as the demo) may ask the payments module
synchronously: the same commands as its API, returning frozen data, never models."""

from dataclasses import dataclass

from apps.payments import services
from apps.payments.services import BankConfirmation, bank_payment_confirm
from apps.payments.signatures import bank_signature

__all__ = [
    "BankConfirmation",
    "TopUpRequested",
    "bank_payment_confirm",
    "bank_signature",
    "payment_create",
    "refund_issue",
    "topup_create",
]


@dataclass(frozen=True)
class TopUpRequested:
    id: str
    reference: str  # what the member quotes in the bank transfer
    amount: int


def topup_create(*, member_id: str, amount: int) -> TopUpRequested:
    topup = services.topup_create(member_id=member_id, amount=amount)
    return TopUpRequested(id=str(topup.id), reference=topup.reference, amount=topup.amount)


def payment_create(*, member_id: str, merchant_id: str, amount: int, description: str = "") -> str:
    """Pay a merchant from the member's balance; the payment's id. Raises MerchantUnknown
    (the merchant isn't known here yet) or InsufficientBalance."""
    payment = services.payment_create(
        member_id=member_id, merchant_id=merchant_id, amount=amount, description=description
    )
    return str(payment.id)


def refund_issue(*, payment_id: str, amount: int, reason: str = "") -> str:
    """Give (part of) a payment back; the refund's id."""
    return str(services.refund_issue(payment_id=payment_id, amount=amount, reason=reason).id)
