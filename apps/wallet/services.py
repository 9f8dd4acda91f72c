"""Commands of the wallet: every balance change is one ledger transaction whose entries sum
to zero. A member's account row is locked for the change, so concurrent debits can't
overdraw it; the database's check constraint is the last line of defence."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from apps.wallet.errors import InsufficientBalance
from apps.wallet.events import BalanceChanged, LedgerLine
from apps.wallet.models import Account, Entry, LedgerTransaction
from blipay.events.outbox import Outbound, emit


@dataclass(frozen=True)
class Posting:
    """One ledger transaction to post: ``amount`` moves between the member and ``counterparty``."""

    kind: str
    reference: str
    member_id: str
    amount: int  # the member's side: + credit, - debit
    counterparty: Account
    description: str = ""


def posting_apply(posting: Posting) -> LedgerTransaction:
    """Post once: a second posting with the same kind and reference returns the first.

    Raises InsufficientBalance, changing nothing, when a debit exceeds the balance.
    """
    if transaction.get_connection().in_atomic_block:
        # Inside the caller's transaction (a payment, a refund, a handler): no savepoint of
        # its own, which would cost two more round trips per payment. Nothing is written
        # before the checks below, so a refused posting leaves the caller's transaction as
        # it was; a database error mid-way aborts the caller's transaction either way.
        return _apply(posting)
    with transaction.atomic():
        return _apply(posting)


def _apply(posting: Posting) -> LedgerTransaction:
    account = _member_account_locked(posting.member_id)
    posted = LedgerTransaction.objects.filter(kind=posting.kind, reference=posting.reference).first()
    if posted is not None:
        return posted
    if account.balance + posting.amount < 0:
        raise InsufficientBalance()
    Account.objects.filter(pk=account.pk).update(balance=F("balance") + posting.amount, version=F("version") + 1)
    # The row is locked by this transaction since it was read: the new values are known,
    # no need to read them back.
    account.balance += posting.amount
    account.version += 1
    posted = LedgerTransaction.objects.create(
        kind=posting.kind,
        reference=posting.reference,
        member_id=posting.member_id,
        amount=posting.amount,
        balance_after=account.balance,
        description=posting.description,
    )
    Entry.objects.bulk_create(
        [
            Entry(transaction=posted, account=account, amount=posting.amount),
            Entry(transaction=posted, account=posting.counterparty, amount=-posting.amount),
        ]
    )
    line = LedgerLine(
        id=str(posted.id),
        kind=posted.kind,
        amount=posted.amount,
        reference=posted.reference,
        description=posted.description,
        created_at=posted.created_at,
    )
    changed = BalanceChanged(member_id=posting.member_id, balance=account.balance, transaction=line)
    emit(Outbound(changed, subject=posting.member_id, sequence=account.version))
    return posted


def account_get_or_create(kind: str, owner: str) -> Account:
    """The account, opened (a row written) on first use. No lock: only member balances are
    kept on the row, and Django's get_or_create absorbs a concurrent open."""
    account, _ = Account.objects.get_or_create(kind=kind, owner=owner)
    return account


def cashback_credit(*, member_id: str, amount: int, grant_id: str) -> LedgerTransaction:
    """Credit a cashback grant from the promotions budget, once per grant however often called."""
    return posting_apply(
        Posting(
            kind=LedgerTransaction.CASHBACK,
            reference=grant_id,
            member_id=member_id,
            amount=amount,
            counterparty=account_get_or_create(Account.SYSTEM, Account.PROMOTIONS),
            description="Cashback",
        )
    )


def _member_account_locked(member_id: str) -> Account:
    account = Account.objects.select_for_update().filter(kind=Account.MEMBER, owner=member_id).first()
    if account is None:
        account_get_or_create(Account.MEMBER, member_id)
        account = Account.objects.select_for_update().get(kind=Account.MEMBER, owner=member_id)
    return account
