from django.db.models import QuerySet

from apps.notifications.models import Notification


def member_notifications(*, member_id: str) -> QuerySet[Notification]:
    """The notifications sent to the member (paginate them newest first)."""
    return Notification.objects.filter(member_id=member_id)
