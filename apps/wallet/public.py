"""What other modules may ask the wallet synchronously: only what can't wait for an event
(a debit must know now whether the balance covers it). Frozen data, never models."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr

from apps.wallet.errors import InsufficientBalance
from apps.wallet.models import Account, LedgerTransaction
from apps.wallet.services import Posted, Posting, posting_apply
from blipay.events.outbox import Outbound

__all__ = [
    "BalanceTotal",
    "InsufficientBalance",
    "Posted",
    "balance_of",
    "balance_totals",
    "balances_by_prefix",
    "payment_debit",
    "refund_credit",
    "topup_credit",
]


def payment_debit(
    *,
    member_id: str,
    merchant_id: str,
    amount: int,
    payment_id: str,
    description: str = "",
    with_events: Sequence[Outbound] = (),
) -> Posted:
    """Move ``amount`` from the member to the merchant. Raises InsufficientBalance. Call
    inside the transaction that records the payment ``payment_id``, new in it: it is posted
    once by construction. ``with_events`` (the payment's own) go to the outbox in the same
    statement as the balance change."""
    return posting_apply(
        Posting(
            kind=LedgerTransaction.PAYMENT,
            reference=payment_id,
            member_id=member_id,
            amount=-amount,
            counterparty=(Account.MERCHANT, merchant_id),
            description=description,
        ),
        new_reference=True,
        with_events=with_events,
    )


def refund_credit(
    *,
    member_id: str,
    merchant_id: str,
    amount: int,
    refund_id: str,
    description: str = "",
    with_events: Sequence[Outbound] = (),
) -> Posted:
    """Move ``amount`` back from the merchant to the member. Call inside the transaction that
    records the refund ``refund_id``, new in it (see payment_debit)."""
    return posting_apply(
        Posting(
            kind=LedgerTransaction.REFUND,
            reference=refund_id,
            member_id=member_id,
            amount=amount,
            counterparty=(Account.MERCHANT, merchant_id),
            description=description,
        ),
        new_reference=True,
        with_events=with_events,
    )


def topup_credit(*, member_id: str, amount: int, topup_id: str) -> Posted:
    """Credit money that arrived by bank transfer. Once per top-up, however often called."""
    return posting_apply(
        Posting(
            kind=LedgerTransaction.TOPUP,
            reference=topup_id,
            member_id=member_id,
            amount=amount,
            counterparty=(Account.SYSTEM, Account.BANK),
            description="Top-up by bank transfer",
        )
    )


def balance_of(*, member_id: str) -> int:
    return Account.objects.filter(kind=Account.MEMBER, owner=member_id).values_list("balance", flat=True).first() or 0


@dataclass(frozen=True)
class BalanceTotal:
    members: int
    total: int


def balance_totals(*, prefix_length: int) -> dict[str, BalanceTotal]:
    """Members holding money, grouped by the first ``prefix_length`` characters of their id:
    how many and how much. A copy of the balances (the overview) is reconciled with one
    query per side, then member by member only in the groups that differ."""
    rows = (
        _member_accounts()
        .annotate(prefix=Substr("owner", 1, prefix_length))
        .values("prefix")
        .annotate(members=Count("id"), total=Sum("balance"))
        .values_list("prefix", "members", "total")
    )
    return {prefix: BalanceTotal(members=members, total=total) for prefix, members, total in rows}


def balances_by_prefix(*, prefixes: Sequence[str]) -> dict[str, int]:
    """Each member holding money whose id starts with one of ``prefixes``: its balance."""
    if not prefixes:
        return {}
    starts = Q()
    for prefix in prefixes:
        starts |= Q(owner__startswith=prefix)
    return dict(_member_accounts().filter(starts).values_list("owner", "balance"))


def _member_accounts() -> QuerySet[Account]:
    return Account.objects.filter(kind=Account.MEMBER).exclude(balance=0)
