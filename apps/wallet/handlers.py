from apps.promotions.events import CashbackGranted
from apps.wallet.services import cashback_credit
from blipay.events.envelope import EventMeta
from blipay.events.subscriptions import Subscription, register_handlers


def cashback_grant_credit(event: CashbackGranted, meta: EventMeta) -> None:
    cashback_credit(member_id=event.member_id, amount=event.amount, grant_id=event.id)


register_handlers("wallet", [Subscription(CashbackGranted, cashback_grant_credit)])
