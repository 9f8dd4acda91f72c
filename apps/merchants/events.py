"""What the merchants module publishes."""

from blipay.events.registry import EventType, register

MerchantSaved = register(
    EventType(
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
)
