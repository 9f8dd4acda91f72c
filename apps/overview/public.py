"""What the overview's read model tells other modules: a member's balance and latest
transactions as the events have made them known. Frozen data, never models."""

from dataclasses import dataclass
from datetime import datetime

from apps.overview import projections
from apps.overview.models import MemberOverview, TransactionLine

RECENT = 10


@dataclass(frozen=True)
class Line:
    id: str
    kind: str
    amount: int
    description: str
    created_at: datetime


@dataclass(frozen=True)
class Activity:
    balance: int
    recent_transactions: tuple[Line, ...]


def member_activity(*, member_id: str) -> Activity:
    """The member's balance and last ``RECENT`` transactions, newest first, from the read
    model. A member it has not heard of yet has a balance of 0 and no transactions, which is
    what a member just registered has."""
    balance = MemberOverview.objects.filter(member_id=member_id).values_list("balance", flat=True).first()
    lines = tuple(
        Line(id=str(t.id), kind=t.kind, amount=t.amount, description=t.description, created_at=t.created_at)
        for t in TransactionLine.objects.filter(member_id=member_id).order_by("-created_at")[:RECENT]
    )
    return Activity(balance=balance or 0, recent_transactions=lines)


def notification_lines_forget(*, before: datetime) -> int:
    """Delete the overview's copies of notifications created before ``before`` (their
    retention, applied by the notifications module); return how many went."""
    return projections.notification_lines_forget(before=before)
