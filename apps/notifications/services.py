"""Commands of the notifications module: the member contacts it keeps, and the notifications
it sends in reaction to other modules' events (choreography: nobody asks it to)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.notifications.events import NotificationSent
from apps.notifications.mail import mail_files_forget
from apps.notifications.models import MemberContact, Notification
from apps.notifications.tasks import email_notification
from blipay.db import create_once
from blipay.events import inbox, relay
from blipay.events.outbox import Outbound, emit
from blipay.events.registry import event_types
from blipay.money import rupiah

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
    (topup, payment, refund, cashback), ``amount`` the member's side of it. Once per event.
    A kind the wallet adds later gets a plain balance notice rather than no notice at all."""
    money = rupiah(abs(amount))
    texts = {
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
    }
    if kind not in texts:
        change = "added to" if amount >= 0 else "taken from"
        kind = Notification.BALANCE
        texts[kind] = ("Your Blipay balance changed", f"{money} was {change} your Blipay balance.\n{description}")
    subject, sentence = texts[kind]
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


def notification_copy_save(*, sent: NotificationSent, source_event_id: str) -> None:
    """Keep a copy of a notification the other deployment sent (from notification.sent);
    the sender's own event finds its row and changes nothing. A copy is never emailed here."""
    create_once(
        Notification,
        key={"id": sent.id},
        member_id=sent.member_id,
        kind=sent.kind,
        channel=sent.channel,
        recipient=sent.recipient,
        subject=sent.subject,
        body=sent.body,
        source_event_id=source_event_id,
        created_at=sent.created_at,
        # The sender emails it; marked so that "email again" never sends a copy from here.
        emailed_at=sent.created_at if sent.recipient else None,
    )


def notifications_email_again(*, notification_ids: list[str]) -> int:
    """Queue the email of notifications that were never emailed (a lost task, a mail server
    that kept failing); return how many were queued."""
    pending = Notification.objects.filter(id__in=notification_ids, emailed_at__isnull=True).exclude(recipient="")
    ids = [str(pk) for pk in pending.values_list("id", flat=True)]
    for notification_id in ids:
        email_notification.delay(notification_id)
    return len(ids)


@dataclass(frozen=True)
class Purged:
    """What ``notifications_purge`` deleted: everything created before ``before``."""

    before: datetime
    notifications: int
    mail_files: int
    overview_lines: int
    outbox_events: int
    inbox_deliveries: int


def notifications_purge(*, older_than_days: int | None = None) -> Purged:
    """Delete the notifications older than the retention (``BLIPAY_NOTIFICATION_RETENTION_DAYS``
    unless given) and every copy of them this deployment keeps: the mail files, the
    overview's lines, the ``notification.sent`` events in the outbox and the inbox. Running
    it again deletes nothing more."""
    days = settings.BLIPAY_NOTIFICATION_RETENTION_DAYS if older_than_days is None else older_than_days
    before = timezone.now() - timedelta(days=days)
    sent = [kind.routing_key for kind in event_types() if kind.name == "notification.sent"]
    with transaction.atomic():
        notifications, _ = Notification.objects.filter(created_at__lt=before).delete()
        outbox_events = relay.delete_sent_of(routing_keys=sent, before=before)
        inbox_deliveries = inbox.delete_received_of(routing_keys=sent, before=before)
        overview_lines = 0
        if apps.is_installed("apps.overview"):  # the monolith; an extracted service has no overview
            from apps.overview.public import notification_lines_forget

            overview_lines = notification_lines_forget(before=before)
    mail_files = mail_files_forget(before=before)  # files can't roll back: once the rows are gone
    return Purged(
        before=before,
        notifications=notifications,
        mail_files=mail_files,
        overview_lines=overview_lines,
        outbox_events=outbox_events,
        inbox_deliveries=inbox_deliveries,
    )


def _greeting(contact: MemberContact | None) -> str:
    return f"Hi {contact.name}," if contact else "Hi,"


def _notification_record(
    *, member_id: str, kind: str, recipient: str, subject: str, body: str, source_event_id: str
) -> Notification | None:
    # The inbox already makes a redelivered event a no-op; the unique (source event, kind)
    # is the last line of defence, so no path can notify twice for one event.
    with transaction.atomic():
        notification = create_once(
            Notification,
            key={"source_event_id": source_event_id, "kind": kind},
            member_id=member_id,
            recipient=recipient,
            subject=subject,
            body=body,
        )
        if notification is None:
            return None
        sent = NotificationSent(
            id=str(notification.id),
            member_id=str(notification.member_id),
            kind=notification.kind,
            channel=notification.channel,
            recipient=notification.recipient,
            subject=notification.subject,
            body=notification.body,
            created_at=notification.created_at,
        )
        emit(Outbound(sent, subject=str(notification.id), sequence=1))
        if recipient:
            transaction.on_commit(lambda: email_notification.delay(str(notification.id)), robust=True)
    return notification
