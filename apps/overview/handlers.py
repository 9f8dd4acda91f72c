from apps.members.events import MemberSaved
from apps.notifications.events import NotificationSent
from apps.overview.projections import (
    member_balance_save,
    member_profile_save,
    notification_line_add,
    transaction_line_add,
)
from apps.wallet.events import BalanceChanged
from blipay.events.subscriptions import Subscription, register_handlers

register_handlers(
    "overview",
    [
        Subscription(MemberSaved, member_profile_save, replayable=True),
        Subscription(BalanceChanged, member_balance_save, replayable=True),
        # Every balance change is a line of history, even one that arrives after a newer balance.
        Subscription(BalanceChanged, transaction_line_add, replayable=True, skip_stale=False),
        Subscription(NotificationSent, notification_line_add, replayable=True),
    ],
)
