"""What other modules may ask the members module synchronously. Frozen data, never models."""

from dataclasses import dataclass
from datetime import datetime

from apps.members.models import Member


@dataclass(frozen=True)
class MemberProfile:
    id: str
    name: str
    email: str
    phone: str
    created_at: datetime


def member_profile(*, member_id: str) -> MemberProfile | None:
    """The member's current profile, or None if there is no such member."""
    row = Member.objects.filter(id=member_id).values("id", "name", "email", "phone", "created_at").first()
    return MemberProfile(**(row | {"id": str(row["id"])})) if row else None
