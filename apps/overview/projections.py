"""What keeps the overview tables current. Each function is an upsert keyed by the row's id
(a member, a ledger transaction, a notification), so replaying events rebuilds the tables."""

from datetime import datetime

from apps.overview.models import MemberOverview, NotificationLine, TransactionLine


def member_profile_save(*, member_id: str, name: str, email: str, phone: str, created_at: datetime) -> None:
    MemberOverview.objects.update_or_create(
        member_id=member_id, defaults={"name": name, "email": email, "phone": phone, "created_at": created_at}
    )


def member_balance_save(*, member_id: str, balance: int) -> None:
    MemberOverview.objects.update_or_create(member_id=member_id, defaults={"balance": balance})


def transaction_line_add(
    *,
    transaction_id: str,
    member_id: str,
    kind: str,
    amount: int,
    balance_after: int,
    description: str,
    created_at: datetime,
) -> None:
    TransactionLine.objects.get_or_create(
        id=transaction_id,
        defaults={
            "member_id": member_id,
            "kind": kind,
            "amount": amount,
            "balance_after": balance_after,
            "description": description,
            "created_at": created_at,
        },
    )


def notification_line_add(
    *, notification_id: str, member_id: str, kind: str, subject: str, created_at: datetime
) -> None:
    NotificationLine.objects.get_or_create(
        id=notification_id,
        defaults={"member_id": member_id, "kind": kind, "subject": subject, "created_at": created_at},
    )


def notification_lines_forget(*, before: datetime) -> int:
    """Delete the lines of notifications created before ``before``: the notifications module
    deletes them then (its retention), and this copy goes with them."""
    deleted, _ = NotificationLine.objects.filter(created_at__lt=before).delete()
    return deleted
