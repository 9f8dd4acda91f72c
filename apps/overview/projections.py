"""Handlers that keep the overview tables current. Each one is an upsert keyed by the
event's subject, so replaying events rebuilds the tables."""

from django.utils.dateparse import parse_datetime

from apps.overview.models import MemberOverview, NotificationLine, TransactionLine
from blipay.events.envelope import Envelope


def member_profile_save(event: Envelope) -> None:
    data = event.data
    MemberOverview.objects.update_or_create(
        member_id=data["id"],
        defaults={
            "name": data["name"],
            "email": data["email"],
            "phone": data["phone"],
            "created_at": parse_datetime(data["created_at"]),
        },
    )


def member_balance_save(event: Envelope) -> None:
    MemberOverview.objects.update_or_create(
        member_id=event.data["member_id"], defaults={"balance": event.data["balance"]}
    )


def transaction_line_add(event: Envelope) -> None:
    line = event.data["transaction"]
    TransactionLine.objects.get_or_create(
        id=line["id"],
        defaults={
            "member_id": event.data["member_id"],
            "kind": line["kind"],
            "amount": line["amount"],
            "balance_after": event.data["balance"],
            "description": line["description"],
            "created_at": parse_datetime(line["created_at"]),
        },
    )


def notification_line_add(event: Envelope) -> None:
    data = event.data
    NotificationLine.objects.get_or_create(
        id=data["id"],
        defaults={
            "member_id": data["member_id"],
            "kind": data["kind"],
            "subject": data["subject"],
            "created_at": parse_datetime(data["created_at"]),
        },
    )
