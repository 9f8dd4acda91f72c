"""What other modules may ask the wallet synchronously: only what can't wait for an event
(a debit must know now whether the balance covers it). Frozen data, never models."""

from dataclasses import dataclass

from apps.wallet.errors import InsufficientBalance
from apps.wallet.models import Account, LedgerTransaction
from apps.wallet.services import Posting, account_get_or_create, posting_apply

__all__ = ["InsufficientBalance", "Posted", "balance_of", "payment_debit", "refund_credit", "topup_credit"]


@dataclass(frozen=True)
class Posted:
    transaction_id: str
    balance_after: int


def payment_debit(*, member_id: str, merchant_id: str, amount: int, payment_id: str, description: str = "") -> Posted:
    """Move ``amount`` from the member to the merchant. Raises InsufficientBalance. Call
    inside the transaction that records the payment."""
    return _posted(
        Posting(
            kind=LedgerTransaction.PAYMENT,
            reference=payment_id,
            member_id=member_id,
            amount=-amount,
            counterparty=account_get_or_create(Account.MERCHANT, merchant_id),
            description=description,
        )
    )


def refund_credit(*, member_id: str, merchant_id: str, amount: int, refund_id: str, description: str = "") -> Posted:
    """Move ``amount`` back from the merchant to the member."""
    return _posted(
        Posting(
            kind=LedgerTransaction.REFUND,
            reference=refund_id,
            member_id=member_id,
            amount=amount,
            counterparty=account_get_or_create(Account.MERCHANT, merchant_id),
            description=description,
        )
    )


def topup_credit(*, member_id: str, amount: int, topup_id: str) -> Posted:
    """Credit money that arrived by bank transfer. Once per top-up, however often called."""
    return _posted(
        Posting(
            kind=LedgerTransaction.TOPUP,
            reference=topup_id,
            member_id=member_id,
            amount=amount,
            counterparty=account_get_or_create(Account.SYSTEM, Account.BANK),
            description="Top-up by bank transfer",
        )
    )


def balance_of(*, member_id: str) -> int:
    return Account.objects.filter(kind=Account.MEMBER, owner=member_id).values_list("balance", flat=True).first() or 0


def _posted(posting: Posting) -> Posted:
    posted = posting_apply(posting)
    return Posted(transaction_id=str(posted.id), balance_after=posted.balance_after)
