"""Commands of the payments module: top-ups and the bank's confirmations, payments, refunds."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.payments.events import PaymentMade, PaymentSaved, RefundSaved, TopUpSaved
from apps.payments.models import BankNotification, MerchantReplica, Payment, Refund, TopUp
from apps.wallet.public import payment_debit, refund_credit, topup_credit
from blipay.api.errors import DomainError, NotFound, error_body
from blipay.events.outbox import Outbound, emit

SIGNATURE_TOLERANCE = 300  # seconds between the bank's timestamp and ours


class InvalidSignature(DomainError):
    code = "invalid_signature"
    status = 401
    message = "X-Bank-Signature is missing, malformed, too old, or does not match the body."


class MerchantUnknown(DomainError):
    code = "merchant_not_found"
    message = "No merchant has this id."


class PaymentNotFound(NotFound):
    message = "No such payment."


class TopUpNotFound(NotFound):
    message = "No such top-up."


class RefundExceedsPayment(DomainError):
    code = "refund_exceeds_payment"
    message = "Refunds can't add up to more than the payment's amount."


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


def bank_signature_verify(*, raw_body: bytes, header: str | None, now: float | None = None) -> None:
    """Check ``X-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    try:
        stamp = int(parts["t"])
        offered = parts["v1"]
    except (KeyError, ValueError):
        raise InvalidSignature() from None
    if abs((now or time.time()) - stamp) > SIGNATURE_TOLERANCE:
        raise InvalidSignature()
    expected = bank_signature(raw_body=raw_body, timestamp=stamp)
    if not hmac.compare_digest(expected, f"t={stamp},v1={offered}"):
        raise InvalidSignature()


def bank_signature(*, raw_body: bytes, timestamp: int) -> str:
    """The header value the bank sends for ``raw_body`` (also what `bank_confirm` signs with)."""
    secret = settings.BLIPAY_BANK_WEBHOOK_SECRET.encode()
    digest = hmac.new(secret, f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class BankAnswer:
    status_code: int
    body: dict[str, Any]


def bank_payment_confirm(
    *, reference: str, amount: int, bank_transaction_id: str, paid_at: datetime, payload: dict[str, Any]
) -> BankAnswer:
    """Settle a top-up the bank says was paid. The same ``bank_transaction_id`` again gets
    the first answer back; the balance is credited exactly once."""
    with transaction.atomic():
        # Deliveries for one top-up queue up on its row; the answer to a repeat is then
        # found below. A repeat with an unknown reference is caught by the unique id.
        topup = TopUp.objects.select_for_update().filter(reference=reference).first()
        seen = BankNotification.objects.filter(bank_transaction_id=bank_transaction_id).first()
        if seen is not None:
            return BankAnswer(seen.status_code, seen.response)
        outcome, status_code, body = _settle(topup, amount, bank_transaction_id, paid_at)
        try:
            with transaction.atomic():
                BankNotification.objects.create(
                    bank_transaction_id=bank_transaction_id,
                    reference=reference,
                    amount=amount,
                    paid_at=paid_at,
                    payload=payload,
                    outcome=outcome,
                    status_code=status_code,
                    response=body,
                    topup_id=topup.id if topup else None,
                )
        except IntegrityError:
            transaction.set_rollback(True)  # a concurrent delivery of this id won; undo ours
        else:
            return BankAnswer(status_code, body)
    seen = BankNotification.objects.get(bank_transaction_id=bank_transaction_id)
    return BankAnswer(seen.status_code, seen.response)


def _settle(
    topup: TopUp | None, amount: int, bank_transaction_id: str, paid_at: datetime
) -> tuple[str, int, dict[str, Any]]:
    if topup is None:
        return BankNotification.UNKNOWN_REFERENCE, 404, error_body("unknown_reference", "No top-up has this reference.")
    if amount != topup.amount:
        message = f"The top-up is for {topup.amount}, the transfer was {amount}; nothing was credited."
        return BankNotification.AMOUNT_MISMATCH, 422, error_body("amount_mismatch", message)
    if topup.status == TopUp.PAID:
        message = "This top-up was already paid by another transfer; nothing was credited."
        return BankNotification.ALREADY_PAID, 409, error_body("topup_already_paid", message)
    # An expired top-up is still credited: the member's money has arrived.
    topup.status = TopUp.PAID
    topup.paid_at = paid_at
    topup.bank_transaction_id = bank_transaction_id
    topup.version += 1
    topup.save(update_fields=["status", "paid_at", "bank_transaction_id", "version"])
    topup_credit(member_id=str(topup.member_id), amount=topup.amount, topup_id=str(topup.id))
    emit(_topup_saved(topup))
    body = {"outcome": BankNotification.CREDITED, "topup_id": str(topup.id), "reference": topup.reference}
    return BankNotification.CREDITED, 200, body


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


def payment_create(*, member_id: str, merchant_id: str, amount: int, description: str = "") -> Payment:
    """Pay a merchant from the member's balance. Raises InsufficientBalance, changing nothing."""
    if not MerchantReplica.objects.filter(id=merchant_id).exists():
        raise MerchantUnknown(fields={"merchant_id": ["No merchant has this id."]})
    with transaction.atomic():
        payment = Payment.objects.create(
            member_id=member_id, merchant_id=merchant_id, amount=amount, description=description
        )
        payment_debit(
            member_id=member_id,
            merchant_id=merchant_id,
            amount=amount,
            payment_id=str(payment.id),
            description=description or "Payment",
        )
        made = PaymentMade(
            payment_id=str(payment.id),
            member_id=str(payment.member_id),
            merchant_id=str(payment.merchant_id),
            amount=payment.amount,
            paid_at=payment.created_at,
        )
        emit(_payment_saved(payment), Outbound(made, subject=str(payment.id), sequence=1))
    return payment


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
        refund_credit(
            member_id=str(payment.member_id),
            merchant_id=str(payment.merchant_id),
            amount=amount,
            refund_id=str(refund.id),
            description=reason or "Refund",
        )
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
        emit(Outbound(refunded, subject=str(refund.id), sequence=1), _payment_saved(payment))
    return refund


def _payment_saved(payment: Payment) -> Outbound:
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
