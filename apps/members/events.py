"""What the members module publishes."""

from blipay.events.registry import EventType, register

MemberSaved = register(
    EventType(
        name="member.saved",
        version=1,
        source="members",
        description="A member was registered or changed; carries the member's whole current profile.",
        schema={
            "type": "object",
            "required": ["id", "name", "email", "phone", "created_at", "updated_at"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": "string", "minLength": 1},
                "email": {"type": "string", "minLength": 3},
                "phone": {"type": "string", "minLength": 1},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
    )
)
