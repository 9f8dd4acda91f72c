"""Emailing a notification: what the Celery task runs (``tasks.py``), kept apart from the
services so that they can queue the task without the two importing each other."""

from datetime import datetime
from pathlib import Path

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


def mail_files_forget(*, before: datetime) -> int:
    """Delete the copies of sent emails the file backend (``EMAIL_FILE_PATH``) wrote before
    ``before``; return how many. Other backends keep no copy here: nothing to do."""
    if settings.EMAIL_BACKEND != "django.core.mail.backends.filebased.EmailBackend":
        return 0
    folder = Path(settings.EMAIL_FILE_PATH)
    old = [path for path in folder.glob("*.log") if path.is_file() and path.stat().st_mtime < before.timestamp()]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)
