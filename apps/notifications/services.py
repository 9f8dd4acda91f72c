"""Commands of the notifications module: the member contacts it keeps, and the notifications
it sends in reaction to other modules' events (choreography: nobody asks it to)."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.notifications.events import NotificationSent
from apps.notifications.models import MemberContact, Notification
from blipay.events.outbox import emit

SIGNATURE = "Blipay"


def contact_save(*, member_id: str, name: str, email: str) -> None:
    """Keep the member's current name and address (from member.saved)."""
    MemberContact.objects.update_or_create(member_id=member_id, defaults={"name": name, "email": email})


def welcome_send(*, member_id: str, source_event_id: str) -> Notification | None:
    """Welcome a newly registered member. Once per event; None if already done."""
    contact = MemberContact.objects.filter(member_id=member_id).first()
    body = (
        f"{_greeting(contact)}\n\nWelcome to Blipay! Your account is ready: top up by bank transfer, "
        f"then pay merchants from your balance.\n\n{SIGNATURE}"
    )
    return _notification_record(
        member_id=member_id,
        kind=Notification.WELCOME,
        recipient=contact.email if contact else "",
        subject="Welcome to Blipay",
        body=body,
        source_event_id=source_event_id,
    )


def balance_change_notify(
    *, member_id: str, kind: str, amount: int, balance: int, description: str, source_event_id: str
) -> Notification | None:
    """Tell the member their balance changed: ``kind`` is the ledger transaction's
    (topup, payment, refund, cashback), ``amount`` the member's side of it. Once per event."""
    money = rupiah(abs(amount))
    subject, sentence = {
        Notification.TOPUP: (
            f"Top-up of {money} received",
            f"{money} from your bank transfer is now in your Blipay balance.",
        ),
        Notification.PAYMENT: (
            f"Payment of {money} made",
            f"You paid {money} from your Blipay balance.\nDescription: {description}",
        ),
        Notification.REFUND: (
            f"Refund of {money} received",
            f"A merchant refunded {money} to your Blipay balance.\nReason: {description}",
        ),
        Notification.CASHBACK: (
            f"Cashback of {money} received",
            f"You earned {money} cashback from a promotion; it is in your Blipay balance.",
        ),
    }[kind]
    contact = MemberContact.objects.filter(member_id=member_id).first()
    body = f"{_greeting(contact)}\n\n{sentence}\nYour balance is now {rupiah(balance)}.\n\n{SIGNATURE}"
    return _notification_record(
        member_id=member_id,
        kind=kind,
        recipient=contact.email if contact else "",
        subject=subject,
        body=body,
        source_event_id=source_event_id,
    )


def notification_copy_save(*, notification: dict, source_event_id: str) -> None:
    """Keep a copy of a notification the other deployment sent (from notification.sent);
    the sender's own event finds its row and changes nothing. A copy is never emailed."""
    sent_at = parse_datetime(notification["created_at"])
    Notification.objects.get_or_create(
        id=notification["id"],
        defaults={
            "member_id": notification["member_id"],
            "kind": notification["kind"],
            "channel": notification["channel"],
            "recipient": notification["recipient"],
            "subject": notification["subject"],
            "body": notification["body"],
            "source_event_id": source_event_id,
            "created_at": sent_at,
            # The sender emails it; marked so that "email again" never sends a copy here.
            "emailed_at": sent_at if notification["recipient"] else None,
        },
    )


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


def notifications_email_again(*, notification_ids: list[str]) -> int:
    """Queue the email of notifications that were never emailed (a lost task, a mail server
    that kept failing); return how many were queued."""
    pending = Notification.objects.filter(id__in=notification_ids, emailed_at__isnull=True).exclude(recipient="")
    ids = [str(pk) for pk in pending.values_list("id", flat=True)]
    for notification_id in ids:
        _email_queue(notification_id)
    return len(ids)


def rupiah(amount: int) -> str:
    """``100000`` → ``"Rp 100.000"`` (Indonesian thousands separator)."""
    return f"Rp {amount:,}".replace(",", ".")


def _greeting(contact: MemberContact | None) -> str:
    return f"Hi {contact.name}," if contact else "Hi,"


def _notification_record(
    *, member_id: str, kind: str, recipient: str, subject: str, body: str, source_event_id: str
) -> Notification | None:
    # The inbox already makes a redelivered event a no-op; the unique (source event, kind)
    # is the last line of defence, so no path can notify twice for one event.
    with transaction.atomic():
        if Notification.objects.filter(source_event_id=source_event_id, kind=kind).exists():
            return None
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    member_id=member_id,
                    kind=kind,
                    recipient=recipient,
                    subject=subject,
                    body=body,
                    source_event_id=source_event_id,
                )
        except IntegrityError:
            return None
        emit(
            NotificationSent,
            subject=str(notification.id),
            sequence=1,
            data={
                "id": str(notification.id),
                "member_id": str(notification.member_id),
                "kind": notification.kind,
                "channel": notification.channel,
                "recipient": notification.recipient,
                "subject": notification.subject,
                "body": notification.body,
                "created_at": notification.created_at.isoformat(),
            },
        )
        if recipient:
            transaction.on_commit(lambda: _email_queue(str(notification.id)), robust=True)
    return notification


def _email_queue(notification_id: str) -> None:
    from apps.notifications.tasks import email_notification  # the task module imports this one

    email_notification.delay(notification_id)
