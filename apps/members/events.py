"""What the members module publishes: each event a frozen dataclass beside its JSON Schema."""

from dataclasses import dataclass
from datetime import datetime

from blipay.events.registry import event


@event(
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
@dataclass(frozen=True, kw_only=True)
class MemberSaved:
    id: str
    name: str
    email: str
    phone: str
    created_at: datetime
    updated_at: datetime


@event(
    name="member.registered",
    version=1,
    source="members",
    state=False,
    description="A member registered (once per member, with the first member.saved): what welcomes them.",
    schema={
        "type": "object",
        "required": ["member_id", "registered_at"],
        "additionalProperties": False,
        "properties": {
            "member_id": {"type": "string", "format": "uuid"},
            "registered_at": {"type": "string", "format": "date-time"},
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class MemberRegistered:
    member_id: str
    registered_at: datetime
