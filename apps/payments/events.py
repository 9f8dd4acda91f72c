"""What the payments module publishes: top-ups, payments and refunds, each its whole state,
and the notice that a payment was made. Each event a frozen dataclass beside its JSON Schema."""

from dataclasses import dataclass
from datetime import datetime

from blipay.events.registry import event

_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_AMOUNT = {"type": "integer", "minimum": 1, "maximum": 1_000_000_000}


@event(
    name="topup.saved",
    version=1,
    source="payments",
    description="A top-up was asked for, paid by bank transfer, or expired.",
    schema={
        "type": "object",
        "required": ["id", "member_id", "amount", "status", "reference", "expires_at", "paid_at", "created_at"],
        "additionalProperties": False,
        "properties": {
            "id": _UUID,
            "member_id": _UUID,
            "amount": _AMOUNT,
            "status": {"enum": ["pending", "paid", "expired"]},
            "reference": {"type": "string"},
            "expires_at": _TIME,
            "paid_at": {"anyOf": [_TIME, {"type": "null"}]},
            "bank_transaction_id": {"type": ["string", "null"]},
            "created_at": _TIME,
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class TopUpSaved:
    id: str
    member_id: str
    amount: int
    status: str
    reference: str
    expires_at: datetime
    paid_at: datetime | None
    created_at: datetime
    bank_transaction_id: str | None = None


@event(
    name="payment.saved",
    version=1,
    source="payments",
    description="A member paid a merchant, or the payment was refunded in part or whole.",
    schema={
        "type": "object",
        "required": ["id", "member_id", "merchant_id", "amount", "refunded_amount", "status", "created_at"],
        "additionalProperties": False,
        "properties": {
            "id": _UUID,
            "member_id": _UUID,
            "merchant_id": _UUID,
            "amount": _AMOUNT,
            "refunded_amount": {"type": "integer", "minimum": 0},
            "description": {"type": "string"},
            "status": {"enum": ["succeeded"]},
            "created_at": _TIME,
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class PaymentSaved:
    id: str
    member_id: str
    merchant_id: str
    amount: int
    refunded_amount: int
    status: str
    created_at: datetime
    description: str = ""


@event(
    name="refund.saved",
    version=1,
    source="payments",
    description="A merchant refunded (part of) a payment to the member's balance.",
    schema={
        "type": "object",
        "required": ["id", "payment_id", "member_id", "merchant_id", "amount", "status", "created_at"],
        "additionalProperties": False,
        "properties": {
            "id": _UUID,
            "payment_id": _UUID,
            "member_id": _UUID,
            "merchant_id": _UUID,
            "amount": _AMOUNT,
            "reason": {"type": "string"},
            "status": {"enum": ["succeeded"]},
            "created_at": _TIME,
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class RefundSaved:
    id: str
    payment_id: str
    member_id: str
    merchant_id: str
    amount: int
    status: str
    created_at: datetime
    reason: str = ""


@event(
    name="payment.made",
    version=1,
    source="payments",
    state=False,
    description="A member paid a merchant (once per payment, with its first payment.saved): what earns cashback.",
    schema={
        "type": "object",
        "required": ["payment_id", "member_id", "merchant_id", "amount", "paid_at"],
        "additionalProperties": False,
        "properties": {
            "payment_id": _UUID,
            "member_id": _UUID,
            "merchant_id": _UUID,
            "amount": _AMOUNT,
            "paid_at": _TIME,
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class PaymentMade:
    payment_id: str
    member_id: str
    merchant_id: str
    amount: int
    paid_at: datetime
