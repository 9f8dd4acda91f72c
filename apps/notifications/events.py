"""What the notifications module publishes: each event a frozen dataclass beside its JSON Schema.

notification.sent v2 lets ``kind`` be ``balance`` too: the notice of a balance change whose
ledger kind this module has no words of its own for. v1 stays registered for the events
already stored and sent; only v2 is emitted."""

from dataclasses import dataclass
from datetime import datetime

from blipay.events.registry import event

_KINDS_V1 = ["welcome", "topup", "payment", "refund", "cashback"]


def _sent_schema(kinds: list[str]) -> dict:
    return {
        "type": "object",
        "required": ["id", "member_id", "kind", "channel", "recipient", "subject", "body", "created_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "member_id": {"type": "string", "format": "uuid"},
            "kind": {"enum": kinds},
            "channel": {"enum": ["email"]},
            "recipient": {"type": "string"},
            "subject": {"type": "string"},
            "body": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    }


_SENT = "A notification was sent to a member (in the app, and by email when the address is known)."


@event(
    name="notification.sent",
    version=2,
    source="notifications",
    description=_SENT,
    schema=_sent_schema([*_KINDS_V1, "balance"]),
)
@dataclass(frozen=True, kw_only=True)
class NotificationSent:
    id: str
    member_id: str
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    created_at: datetime


@event(name="notification.sent", version=1, source="notifications", description=_SENT, schema=_sent_schema(_KINDS_V1))
@dataclass(frozen=True, kw_only=True)
class NotificationSentV1(NotificationSent):
    """v1 has the same fields; its ``kind`` is never ``balance``."""
