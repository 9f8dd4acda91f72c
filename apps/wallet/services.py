"""Commands of the wallet: every balance change is one ledger transaction whose entries sum
to zero. A member's account row is locked for the change, so concurrent debits can't
overdraw it; the database's check constraint is the last line of defence.

A posting is on every payment's path, so it is written as the statements it needs and no
more (see ``_apply``), without model instances."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from apps.wallet.errors import InsufficientBalance
from apps.wallet.events import BalanceChanged, LedgerLine
from apps.wallet.models import Account, Entry, LedgerTransaction
from blipay.db import db_values, insert_rows
from blipay.events.outbox import Outbound, emit


@dataclass(frozen=True)
class Posting:
    """One ledger transaction to post: ``amount`` moves between the member and ``counterparty``."""

    kind: str
    reference: str
    member_id: str
    amount: int  # the member's side: + credit, - debit
    counterparty: tuple[str, str]  # (Account kind, owner); the first posting against it opens it
    description: str = ""


@dataclass(frozen=True)
class Posted:
    transaction_id: str
    balance_after: int


def posting_apply(posting: Posting, *, new_reference: bool = False, with_events: Sequence[Outbound] = ()) -> Posted:
    """Post once: a second posting with the same kind and reference returns the first.

    ``new_reference``: the reference was made in the caller's transaction (a new payment or
    refund), so it can't have been posted before and isn't looked up; the ledger's unique
    (kind, reference) would still refuse a second. Its member's account is not opened here:
    a payment's member without one can't pay, and a refund follows a payment. ``with_events``: the caller's events,
    recorded in the same outbox statement as the balance change.

    Raises InsufficientBalance, changing nothing, when a debit exceeds the balance.
    """
    if transaction.get_connection().in_atomic_block:
        # Inside the caller's transaction (a payment, a refund, a handler): no savepoint of
        # its own, which would cost two more round trips per payment. Nothing is written
        # before the balance check below, so a refused posting leaves the caller's
        # transaction as it was; a database error mid-way aborts it either way.
        return _apply(posting, new_reference, with_events)
    with transaction.atomic():
        return _apply(posting, new_reference, with_events)


def _apply(posting: Posting, new_reference: bool, with_events: Sequence[Outbound]) -> Posted:
    if not new_reference:
        # Lock first, so a concurrent repeat of this reference waits here and then finds
        # the first one posted.
        _member_account_locked(posting.member_id)
        posted = (
            LedgerTransaction.objects.filter(kind=posting.kind, reference=posting.reference)
            .values_list("id", "balance_after")
            .first()
        )
        if posted is not None:
            return Posted(transaction_id=str(posted[0]), balance_after=posted[1])
    account_id, balance, version = _balance_change(posting)
    posted_id, now = uuid.uuid4(), timezone.now()
    insert_rows(
        LedgerTransaction,
        [
            {
                "id": posted_id,
                "kind": posting.kind,
                "reference": posting.reference,
                "member_id": posting.member_id,
                "amount": posting.amount,
                "balance_after": balance,
                "description": posting.description,
                "created_at": now,
            }
        ],
    )
    _entries_insert(posted_id, account_id, posting)
    line = LedgerLine(
        id=str(posted_id),
        kind=posting.kind,
        amount=posting.amount,
        reference=posting.reference,
        description=posting.description,
        created_at=now,
    )
    changed = BalanceChanged(member_id=posting.member_id, balance=balance, transaction=line)
    emit(Outbound(changed, subject=posting.member_id, sequence=version), *with_events)
    return Posted(transaction_id=str(posted_id), balance_after=balance)


_TABLE = Account._meta.db_table
# One statement takes the member's row lock, checks the balance covers the posting and
# changes it, and returns what the ledger line and the event need: no row means the
# balance doesn't cover it. The account is open by then: ``_member_account_locked`` opens
# it, and a new reference's member has one (a payment debits it, a refund follows one).
_BALANCE_CHANGE = (
    f"UPDATE {_TABLE} SET balance = balance + %s, version = version + 1"
    " WHERE kind = %s AND owner = %s AND balance + %s >= 0 RETURNING id, balance, version"
)


def _balance_change(posting: Posting) -> tuple[int, int, int]:
    """The member account's id, new balance and version after the posting."""
    with connection.cursor() as cursor:
        cursor.execute(_BALANCE_CHANGE, [posting.amount, Account.MEMBER, posting.member_id, posting.amount])
        row = cursor.fetchone()
    if row is None:
        raise InsufficientBalance()
    return row


_ENTRY_TABLE = Entry._meta.db_table
# Both entries in one statement, the counterparty's account id looked up in it: one row
# inserted means that account isn't open yet (its first posting).
_ENTRIES_INSERT = (
    f"INSERT INTO {_ENTRY_TABLE} (transaction_id, account_id, amount)"
    f" SELECT %s, %s, %s UNION ALL SELECT %s, id, %s FROM {_TABLE} WHERE kind = %s AND owner = %s"
)


def _entries_insert(posted_id: uuid.UUID, account_id: int, posting: Posting) -> None:
    (posted,) = db_values(Entry, {"transaction": posted_id})
    kind, owner = posting.counterparty
    with connection.cursor() as cursor:
        cursor.execute(_ENTRIES_INSERT, [posted, account_id, posting.amount, posted, -posting.amount, kind, owner])
        inserted = cursor.rowcount
    if inserted == 1:
        counterparty = account_get_or_create(kind, owner)
        insert_rows(Entry, [{"transaction": posted_id, "account": counterparty.id, "amount": -posting.amount}])


def account_get_or_create(kind: str, owner: str) -> Account:
    """The account, opened (a row written) on first use. No lock: only member balances are
    kept on the row, and Django's get_or_create absorbs a concurrent open."""
    account, _ = Account.objects.get_or_create(kind=kind, owner=owner)
    return account


def cashback_credit(*, member_id: str, amount: int, grant_id: str) -> Posted:
    """Credit a cashback grant from the promotions budget, once per grant however often called."""
    return posting_apply(
        Posting(
            kind=LedgerTransaction.CASHBACK,
            reference=grant_id,
            member_id=member_id,
            amount=amount,
            counterparty=(Account.SYSTEM, Account.PROMOTIONS),
            description="Cashback",
        )
    )


def _member_account_locked(member_id: str) -> None:
    locked = Account.objects.select_for_update().filter(kind=Account.MEMBER, owner=member_id)
    if not locked.values_list("id", flat=True):
        account_get_or_create(Account.MEMBER, member_id)
        locked.values_list("id", flat=True).get()
