import hashlib
from collections import defaultdict

from django.db.models import QuerySet

from apps.notifications.models import MemberContact, Notification


def member_notifications(*, member_id: str) -> QuerySet[Notification]:
    """The notifications sent to the member (paginate them newest first)."""
    return Notification.objects.filter(member_id=member_id)


def member_digests() -> dict[str, list]:
    """Per member: how many notifications, and a hash of them and of the contact, as both
    deployments of this module must hold them (strangler reconcile compares the two)."""
    rows: dict[str, list[str]] = defaultdict(list)
    for member_id, *fields in Notification.objects.order_by("id").values_list(
        "member_id", "id", "kind", "recipient", "subject", "body", "created_at"
    ):
        rows[str(member_id)].append("|".join(map(str, fields)))
    contacts = {str(m): f"{n}|{e}" for m, n, e in MemberContact.objects.values_list("member_id", "name", "email")}
    return {
        member: [
            len(rows[member]),
            hashlib.sha256("\n".join([contacts.get(member, ""), *rows[member]]).encode()).hexdigest(),
        ]
        for member in sorted(set(rows) | set(contacts))
    }
