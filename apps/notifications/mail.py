"""Emailing a notification: what the Celery task runs (``tasks.py``), kept apart from the
services so that they can queue the task without the two importing each other."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.notifications.models import Notification


def notification_email_send(*, notification_id: str) -> bool:
    """Email a notification unless it was emailed already or has no recipient; True if sent
    now. Safe to run more than once (Celery delivers tasks at least once)."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(id=notification_id).first()
        if notification is None or notification.emailed_at is not None or not notification.recipient:
            return False
        send_mail(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL, [notification.recipient])
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True
