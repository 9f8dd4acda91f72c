from celery import shared_task

from apps.notifications.mail import notification_email_send


# SMTP failures (smtplib.SMTPException is an OSError) are retried with backoff; the
# notification keeps ``emailed_at`` empty until the mail server took the message.
@shared_task(
    name="notifications.email_notification",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def email_notification(notification_id: str) -> bool:
    return notification_email_send(notification_id=notification_id)


@shared_task(name="notifications.purge", ignore_result=True)
def purge() -> int:
    """Apply the notifications' retention (beat runs it hourly); return how many notifications went."""
    from apps.notifications.services import notifications_purge  # the services import this module

    return notifications_purge().notifications
