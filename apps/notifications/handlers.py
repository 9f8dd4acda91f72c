from apps.members.events import MemberSaved
from apps.notifications.events import NotificationSent
from apps.notifications.services import balance_change_notify, contact_save, notification_copy_save, welcome_send
from apps.wallet.events import BalanceChanged
from blipay.events.envelope import Envelope
from blipay.events.subscriptions import Subscription, register_handlers


def member_contact_save(event: Envelope) -> None:
    member = event.data
    contact_save(member_id=member["id"], name=member["name"], email=member["email"])


def notification_copy(event: Envelope) -> None:
    notification_copy_save(notification=event.data, source_event_id=event.causation_id or event.id)


def welcome_notify(event: Envelope) -> None:
    if event.sequence == 1:  # the member was just registered
        welcome_send(member_id=event.data["id"], source_event_id=event.id)


def balance_notify(event: Envelope) -> None:
    line = event.data["transaction"]
    balance_change_notify(
        member_id=event.data["member_id"],
        kind=line["kind"],
        amount=line["amount"],
        balance=event.data["balance"],
        description=line["description"],
        source_event_id=event.id,
    )


register_handlers(
    "notifications",
    [
        Subscription(MemberSaved, member_contact_save, replayable=True),
        # Whichever deployment sends (monolith or the extracted service, see strangler
        # handover), both keep every notification sent: reads routed either way agree.
        Subscription(NotificationSent, notification_copy, replayable=True),
        # Side effects, never replayed, run only by the deployment that owns the module.
        # They run even for an event older than what the replica holds: a registration or
        # a balance change is news however late it comes.
        Subscription(MemberSaved, welcome_notify, skip_stale=False),
        Subscription(BalanceChanged, balance_notify, skip_stale=False),
    ],
)
