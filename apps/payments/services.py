"""Commands of the payments module: top-ups and the bank's confirmations, payments, refunds."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.merchants.public import MerchantUnknown, merchant_known
from apps.payments.errors import PaymentNotFound, RefundExceedsPayment
from apps.payments.events import PaymentMade, PaymentSaved, RefundSaved, TopUpSaved
from apps.payments.models import BankNotification, MerchantReplica, Payment, Refund, TopUp
from apps.wallet.public import payment_debit, refund_credit, topup_credit
from blipay.db import columns, db_values, insert_rows, storable_json
from blipay.events.outbox import Outbound, emit

# --- top-ups ---------------------------------------------------------------------------


def topup_create(*, member_id: str, amount: int) -> TopUp:
    """Ask for a top-up by bank transfer; the member quotes ``reference`` in the transfer."""
    expires_at = timezone.now() + timedelta(hours=settings.BLIPAY_TOPUP_TTL_HOURS)
    with transaction.atomic():
        for _ in range(5):
            try:
                with transaction.atomic():
                    topup = TopUp.objects.create(
                        member_id=member_id, amount=amount, reference=_new_reference(), expires_at=expires_at
                    )
                break
            except IntegrityError:  # a reference already taken: 36^10 makes this rare
                continue
        else:
            raise RuntimeError("could not draw a free top-up reference")
        emit(_topup_saved(topup))
    return topup


def topups_expire(*, now: datetime | None = None) -> int:
    """Mark pending top-ups past their expiry as expired (beat runs this)."""
    now = now or timezone.now()
    expired = 0
    for topup_id in TopUp.objects.filter(status=TopUp.PENDING, expires_at__lt=now).values_list("id", flat=True):
        with transaction.atomic():
            topup = TopUp.objects.select_for_update().get(id=topup_id)
            if topup.status != TopUp.PENDING:
                continue
            topup.status = TopUp.EXPIRED
            topup.version += 1
            topup.save(update_fields=["status", "version"])
            emit(_topup_saved(topup))
            expired += 1
    return expired


@dataclass(frozen=True)
class BankConfirmation:
    """What became of one confirmation from the bank: ``outcome`` is one of
    BankNotification's outcomes; ``message`` says why when it was refused."""

    outcome: str
    reference: str
    topup_id: str | None
    message: str = ""
    repeat: bool = False  # the bank sent this bank_transaction_id before: the outcome is the first's

    @property
    def credited(self) -> bool:
        return self.outcome == BankNotification.CREDITED

    @classmethod
    def of(cls, row: BankNotification, *, repeat: bool = False) -> "BankConfirmation":
        topup_id = str(row.topup_id) if row.topup_id else None
        return cls(outcome=row.outcome, reference=row.reference, topup_id=topup_id, message=row.message, repeat=repeat)


def bank_payment_confirm(
    *, reference: str, amount: int, bank_transaction_id: str, paid_at: datetime, payload: dict[str, Any]
) -> BankConfirmation:
    """Settle a top-up the bank says was paid. The same ``bank_transaction_id`` again gets
    the first outcome back; the balance is credited exactly once."""
    with transaction.atomic():
        # Deliveries for one top-up queue up on its row; the outcome of a repeat is then
        # found below. A repeat with an unknown reference is caught by the unique id.
        topup = TopUp.objects.select_for_update().filter(reference=reference).first()
        seen = BankNotification.objects.filter(bank_transaction_id=bank_transaction_id).first()
        if seen is not None:
            return BankConfirmation.of(seen, repeat=True)
        outcome, message = _settle(topup, amount, bank_transaction_id, paid_at)
        try:
            with transaction.atomic():
                row = BankNotification.objects.create(
                    bank_transaction_id=bank_transaction_id,
                    reference=reference,
                    amount=amount,
                    paid_at=paid_at,
                    payload=storable_json(payload),
                    outcome=outcome,
                    message=message,
                    topup_id=topup.id if topup else None,
                )
        except IntegrityError:
            transaction.set_rollback(True)  # a concurrent delivery of this id won; undo ours
        else:
            return BankConfirmation.of(row)
    return BankConfirmation.of(BankNotification.objects.get(bank_transaction_id=bank_transaction_id), repeat=True)


def _settle(topup: TopUp | None, amount: int, bank_transaction_id: str, paid_at: datetime) -> tuple[str, str]:
    if topup is None:
        return BankNotification.UNKNOWN_REFERENCE, "No top-up has this reference."
    if amount != topup.amount:
        message = f"The top-up is for {topup.amount}, the transfer was {amount}; nothing was credited."
        return BankNotification.AMOUNT_MISMATCH, message
    if topup.status == TopUp.PAID:
        return BankNotification.ALREADY_PAID, "This top-up was already paid by another transfer; nothing was credited."
    # An expired top-up is still credited: the member's money has arrived.
    topup.status = TopUp.PAID
    topup.paid_at = paid_at
    topup.bank_transaction_id = bank_transaction_id
    topup.version += 1
    topup.save(update_fields=["status", "paid_at", "bank_transaction_id", "version"])
    topup_credit(member_id=str(topup.member_id), amount=topup.amount, topup_id=str(topup.id))
    emit(_topup_saved(topup))
    return BankNotification.CREDITED, ""


def _new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: references are read aloud
    return "BLP" + "".join(secrets.choice(alphabet) for _ in range(10))


def _topup_saved(topup: TopUp) -> Outbound:
    payload = TopUpSaved(
        id=str(topup.id),
        member_id=str(topup.member_id),
        amount=topup.amount,
        status=topup.status,
        reference=topup.reference,
        expires_at=topup.expires_at,
        paid_at=topup.paid_at,
        bank_transaction_id=topup.bank_transaction_id,
        created_at=topup.created_at,
    )
    return Outbound(payload, subject=str(topup.id), sequence=topup.version)


# --- payments and refunds --------------------------------------------------------------


@dataclass(frozen=True)
class NewPayment:
    """A payment just made: what its response and events carry (no model instance on the
    payment's path)."""

    id: str
    member_id: str
    merchant_id: str
    amount: int
    description: str
    created_at: datetime
    refunded_amount: int = 0
    status: str = Payment.SUCCEEDED
    version: int = 1


def payment_create(*, member_id: str, merchant_id: str, amount: int, description: str = "") -> NewPayment:
    """Pay a merchant from the member's balance. Raises MerchantUnknown or InsufficientBalance,
    changing nothing.

    Statements, in one transaction: the payment's INSERT (which is also the check that the
    merchant is known), the member's balance change, the ledger line, its two entries and
    one outbox INSERT for the three events (wallet.balance_changed, payment.saved,
    payment.made). ``tests/apps/payments/test_statements.py`` holds the count."""
    payment = NewPayment(
        id=str(uuid.uuid4()),
        member_id=member_id,
        merchant_id=merchant_id,
        amount=amount,
        description=description,
        created_at=timezone.now(),
    )
    made = PaymentMade(
        payment_id=payment.id,
        member_id=member_id,
        merchant_id=merchant_id,
        amount=amount,
        paid_at=payment.created_at,
    )
    # Outermost (no Idempotency-Key), this is the transaction; inside the idempotency
    # record's transaction it is a savepoint, so a refusal is rolled back and the record
    # can still keep the 4xx it answered.
    with transaction.atomic():
        if not _payment_insert_for_known_merchant(payment):
            # The replica hasn't heard of the merchant (yet): a merchant is payable as soon
            # as its registration answered 201, so ask the merchants module itself.
            if not merchant_known(merchant_id=merchant_id):
                raise MerchantUnknown()
            insert_rows(Payment, [_payment_row(payment) | {"merchant_id": merchant_id}])
        payment_debit(
            member_id=member_id,
            merchant_id=merchant_id,
            amount=amount,
            payment_id=payment.id,
            description=description or "Payment",
            with_events=(_payment_saved(payment), Outbound(made, subject=payment.id, sequence=1)),
        )
    return payment


def _payment_row(payment: NewPayment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "member_id": payment.member_id,
        "amount": payment.amount,
        "refunded_amount": payment.refunded_amount,
        "description": payment.description,
        "status": payment.status,
        "version": payment.version,
        "created_at": payment.created_at,
    }


def _payment_insert_for_known_merchant(payment: NewPayment) -> bool:
    """INSERT the payment if the replica knows its merchant: the check and the write in one
    statement (the merchant id is the replica's own). False, writing nothing, if not."""
    row = _payment_row(payment)
    sql = (
        f"INSERT INTO {_PAYMENT_TABLE} ({columns(Payment, row)}, merchant_id)"
        f" SELECT {', '.join(['%s'] * len(row))}, id FROM {_REPLICA_TABLE} WHERE id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*db_values(Payment, row), *db_values(MerchantReplica, {"id": payment.merchant_id})])
        return cursor.rowcount == 1


_PAYMENT_TABLE = Payment._meta.db_table
_REPLICA_TABLE = MerchantReplica._meta.db_table


def refund_issue(*, payment_id: str, amount: int, reason: str = "") -> Refund:
    """Give (part of) a payment back to the member's balance; never more than was paid,
    however many refunds race: they queue on the payment's row."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(id=payment_id).first()
        if payment is None:
            raise PaymentNotFound()
        if payment.refunded_amount + amount > payment.amount:
            left = payment.amount - payment.refunded_amount
            raise RefundExceedsPayment(f"At most {left} of this payment can still be refunded.")
        refund = Refund.objects.create(payment=payment, amount=amount, reason=reason)
        payment.refunded_amount += amount
        payment.version += 1
        payment.save(update_fields=["refunded_amount", "version"])
        refunded = RefundSaved(
            id=str(refund.id),
            payment_id=str(payment.id),
            member_id=str(payment.member_id),
            merchant_id=str(payment.merchant_id),
            amount=refund.amount,
            reason=refund.reason,
            status=refund.status,
            created_at=refund.created_at,
        )
        refund_credit(
            member_id=str(payment.member_id),
            merchant_id=str(payment.merchant_id),
            amount=amount,
            refund_id=str(refund.id),
            description=reason or "Refund",
            with_events=(Outbound(refunded, subject=str(refund.id), sequence=1), _payment_saved(payment)),
        )
    return refund


def _payment_saved(payment: Payment | NewPayment) -> Outbound:
    payload = PaymentSaved(
        id=str(payment.id),
        member_id=str(payment.member_id),
        merchant_id=str(payment.merchant_id),
        amount=payment.amount,
        refunded_amount=payment.refunded_amount,
        description=payment.description,
        status=payment.status,
        created_at=payment.created_at,
    )
    return Outbound(payload, subject=str(payment.id), sequence=payment.version)


def merchant_replica_save(*, merchant_id: str, name: str) -> None:
    """Keep the merchant's current name (from merchant.saved)."""
    MerchantReplica.objects.update_or_create(id=merchant_id, defaults={"name": name})
