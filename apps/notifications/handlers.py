from apps.members.events import MemberRegistered, MemberSaved
from apps.notifications.events import NotificationSent, NotificationSentV1
from apps.notifications.services import balance_change_notify, contact_save, notification_copy_save, welcome_send
from apps.wallet.events import BalanceChanged
from blipay.events.envelope import EventMeta
from blipay.events.subscriptions import Subscription, register_handlers


def member_contact_save(event: MemberSaved, meta: EventMeta) -> None:
    contact_save(member_id=event.id, name=event.name, email=event.email)


def notification_copy(event: NotificationSent, meta: EventMeta) -> None:
    # The event that caused the notification is the one the sender reacted to.
    notification_copy_save(sent=event, source_event_id=meta.causation_id or meta.id)


def welcome_notify(event: MemberRegistered, meta: EventMeta) -> None:
    welcome_send(member_id=event.member_id, source_event_id=meta.id)


def balance_notify(event: BalanceChanged, meta: EventMeta) -> None:
    balance_change_notify(
        member_id=event.member_id,
        kind=event.transaction.kind,
        amount=event.transaction.amount,
        balance=event.balance,
        description=event.transaction.description,
        source_event_id=meta.id,
    )


register_handlers(
    "notifications",
    [
        Subscription(MemberSaved, member_contact_save, replayable=True),
        # Whichever deployment sends (the monolith or the extracted service, see strangler
        # handover), both keep every notification sent: reads routed either way agree.
        Subscription(NotificationSentV1, notification_copy, replayable=True),
        Subscription(NotificationSent, notification_copy, replayable=True),
        # Side effects, never replayed, run only by the deployment that owns the module. A
        # balance change is news even when it arrives after a newer one; member.registered
        # is a notice (no version), so it always runs.
        Subscription(MemberRegistered, welcome_notify),
        Subscription(BalanceChanged, balance_notify, skip_stale=False),
    ],
)
