"""What the promotions module publishes: each event a frozen dataclass beside its JSON Schema."""

from dataclasses import dataclass
from datetime import datetime

from blipay.events.registry import event

_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}


@event(
    name="promotion.saved",
    version=1,
    source="promotions",
    description="A cashback promotion was created or changed.",
    schema={
        "type": "object",
        "required": ["id", "merchant_id", "percent", "max_amount", "starts_at", "ends_at", "created_at"],
        "additionalProperties": False,
        "properties": {
            "id": _UUID,
            "merchant_id": _UUID,
            "percent": {"type": "integer", "minimum": 1, "maximum": 100},
            "max_amount": {"type": "integer", "minimum": 1},
            "starts_at": _TIME,
            "ends_at": _TIME,
            "created_at": _TIME,
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class PromotionSaved:
    id: str
    merchant_id: str
    percent: int
    max_amount: int
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


@event(
    name="cashback.granted",
    version=1,
    source="promotions",
    state=False,
    description="A payment earned cashback from a running promotion; the wallet credits it once.",
    schema={
        "type": "object",
        "required": ["id", "promotion_id", "payment_id", "member_id", "merchant_id", "amount"],
        "additionalProperties": False,
        "properties": {
            "id": _UUID,
            "promotion_id": _UUID,
            "payment_id": _UUID,
            "member_id": _UUID,
            "merchant_id": _UUID,
            "amount": {"type": "integer", "minimum": 1},
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class CashbackGranted:
    id: str
    promotion_id: str
    payment_id: str
    member_id: str
    merchant_id: str
    amount: int
