"""What the payments module publishes: top-ups, payments and refunds, each its whole state."""

from blipay.events.registry import EventType, register

_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_AMOUNT = {"type": "integer", "minimum": 1, "maximum": 1_000_000_000}

TopUpSaved = register(
    EventType(
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
)

PaymentSaved = register(
    EventType(
        name="payment.saved",
        version=1,
        source="payments",
        description="A member paid a merchant (sequence 1), or the payment was refunded in part or whole.",
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
)

RefundSaved = register(
    EventType(
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
)
