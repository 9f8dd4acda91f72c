"""What keeps the overview tables current. Each function is an upsert keyed by the row's id
(a member, a ledger transaction, a notification), so replaying events rebuilds the tables.

Each is one ``INSERT … ON CONFLICT`` statement (``bulk_create`` of one row): these run for
every balance change a member makes and for every event a replay feeds, where Django's
``update_or_create``/``get_or_create`` took a read, a savepoint and a write (a replay of
the overview ran 8 statements per event)."""

from datetime import datetime

from apps.overview.models import MemberOverview, NotificationLine, TransactionLine


def member_profile_save(*, member_id: str, name: str, email: str, phone: str, created_at: datetime) -> None:
    MemberOverview.objects.bulk_create(
        [MemberOverview(member_id=member_id, name=name, email=email, phone=phone, created_at=created_at)],
        update_conflicts=True,
        unique_fields=["member_id"],
        update_fields=["name", "email", "phone", "created_at", "updated_at"],
    )


def member_balance_save(*, member_id: str, balance: int) -> None:
    MemberOverview.objects.bulk_create(
        [MemberOverview(member_id=member_id, balance=balance)],
        update_conflicts=True,
        unique_fields=["member_id"],
        update_fields=["balance", "updated_at"],
    )


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
    line = TransactionLine(
        id=transaction_id,
        member_id=member_id,
        kind=kind,
        amount=amount,
        balance_after=balance_after,
        description=description,
        created_at=created_at,
    )
    TransactionLine.objects.bulk_create([line], ignore_conflicts=True)


def notification_line_add(
    *, notification_id: str, member_id: str, kind: str, subject: str, created_at: datetime
) -> None:
    line = NotificationLine(id=notification_id, member_id=member_id, kind=kind, subject=subject, created_at=created_at)
    NotificationLine.objects.bulk_create([line], ignore_conflicts=True)


def notification_lines_forget(*, before: datetime) -> int:
    """Delete the lines of notifications created before ``before``: the notifications module
    deletes them then (its retention), and this copy goes with them."""
    deleted, _ = NotificationLine.objects.filter(created_at__lt=before).delete()
    return deleted
