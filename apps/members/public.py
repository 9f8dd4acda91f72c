"""What other modules may ask the members module synchronously. Frozen data, never models."""

from dataclasses import dataclass
from datetime import datetime

from apps.members import services
from apps.members.errors import MemberExists
from apps.members.models import Member

__all__ = [
    "MemberExists",
    "MemberProfile",
    "MemberRegistered",
    "member_id_by_email",
    "member_profile",
    "member_register",
]


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


@dataclass(frozen=True)
class MemberRegistered:
    id: str
    token: str  # the member's bearer secret: this is the only time anyone sees it


def member_register(*, name: str, email: str, phone: str) -> MemberRegistered:
    """Register a member (as POST /members does, for composition roots such as the demo).
    Raises MemberExists for an email already registered."""
    registration = services.member_register(name=name, email=email, phone=phone)
    return MemberRegistered(id=str(registration.member.id), token=registration.token)


def member_id_by_email(*, email: str) -> str | None:
    member_id = Member.objects.filter(email=email.strip().lower()).values_list("id", flat=True).first()
    return str(member_id) if member_id else None
