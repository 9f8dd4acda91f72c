"""What the merchants module publishes: each event a frozen dataclass beside its JSON Schema."""

from dataclasses import dataclass
from datetime import datetime

from blipay.events.registry import event


@event(
    name="merchant.saved",
    version=1,
    source="merchants",
    description="A merchant was registered or changed; carries the merchant's whole current state.",
    schema={
        "type": "object",
        "required": ["id", "name", "email", "created_at", "updated_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "minLength": 1},
            "email": {"type": "string", "minLength": 3},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class MerchantSaved:
    id: str
    name: str
    email: str
    created_at: datetime
    updated_at: datetime
