"""What the notifications module publishes."""

from blipay.events.registry import EventType, register

NotificationSent = register(
    EventType(
        name="notification.sent",
        version=1,
        source="notifications",
        description="A notification was sent to a member (in the app, and by email when the address is known).",
        schema={
            "type": "object",
            "required": ["id", "member_id", "kind", "channel", "recipient", "subject", "body", "created_at"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "member_id": {"type": "string", "format": "uuid"},
                "kind": {"enum": ["welcome", "topup", "payment", "refund", "cashback"]},
                "channel": {"enum": ["email"]},
                "recipient": {"type": "string"},
                "subject": {"type": "string"},
                "body": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
    )
)
