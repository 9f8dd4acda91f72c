"""Member + balance, as the API shows it. Frozen data, never models."""

from dataclasses import dataclass
from datetime import datetime

from apps.members.public import member_profile
from apps.overview.models import MemberOverview, TransactionLine
from apps.wallet.public import balance_of

RECENT = 10


@dataclass(frozen=True)
class Line:
    id: str
    kind: str
    amount: int
    description: str
    created_at: datetime


@dataclass(frozen=True)
class Overview:
    id: str
    name: str
    email: str
    phone: str
    created_at: datetime
    balance: int
    recent_transactions: tuple[Line, ...]


def member_overview(*, member_id: str) -> Overview | None:
    """The member with balance and recent transactions, from the read model.

    Right after registration the read model may not have the member yet (it follows the
    events); then the profile and balance are asked of their modules directly.
    """
    row = MemberOverview.objects.filter(member_id=member_id).exclude(name="").first()
    lines = tuple(
        Line(id=str(t.id), kind=t.kind, amount=t.amount, description=t.description, created_at=t.created_at)
        for t in TransactionLine.objects.filter(member_id=member_id).order_by("-created_at")[:RECENT]
    )
    if row is not None:
        return Overview(
            id=str(row.member_id),
            name=row.name,
            email=row.email,
            phone=row.phone,
            created_at=row.created_at,
            balance=row.balance,
            recent_transactions=lines,
        )
    profile = member_profile(member_id=member_id)
    if profile is None:
        return None
    return Overview(
        id=profile.id,
        name=profile.name,
        email=profile.email,
        phone=profile.phone,
        created_at=profile.created_at,
        balance=balance_of(member_id=member_id),
        recent_transactions=lines,
    )
