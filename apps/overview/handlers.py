from apps.members.events import MemberSaved
from apps.notifications.events import NotificationSent, NotificationSentV1
from apps.overview import projections
from apps.wallet.events import BalanceChanged
from blipay.events.envelope import EventMeta
from blipay.events.subscriptions import Subscription, register_handlers


def member_profile_save(event: MemberSaved, meta: EventMeta) -> None:
    projections.member_profile_save(
        member_id=event.id, name=event.name, email=event.email, phone=event.phone, created_at=event.created_at
    )


def member_balance_save(event: BalanceChanged, meta: EventMeta) -> None:
    projections.member_balance_save(member_id=event.member_id, balance=event.balance)


def transaction_line_add(event: BalanceChanged, meta: EventMeta) -> None:
    line = event.transaction
    projections.transaction_line_add(
        transaction_id=line.id,
        member_id=event.member_id,
        kind=line.kind,
        amount=line.amount,
        balance_after=event.balance,
        description=line.description,
        created_at=line.created_at,
    )


def notification_line_add(event: NotificationSent, meta: EventMeta) -> None:
    projections.notification_line_add(
        notification_id=event.id,
        member_id=event.member_id,
        kind=event.kind,
        subject=event.subject,
        created_at=event.created_at,
    )


register_handlers(
    "overview",
    [
        Subscription(MemberSaved, member_profile_save, replayable=True),
        Subscription(BalanceChanged, member_balance_save, replayable=True),
        # Every balance change is a line of history, even one that arrives after a newer balance.
        Subscription(BalanceChanged, transaction_line_add, replayable=True, skip_stale=False),
        # v1 for the notifications stored before v2 (which adds the kind "balance").
        Subscription(NotificationSentV1, notification_line_add, replayable=True),
        Subscription(NotificationSent, notification_line_add, replayable=True),
    ],
)
