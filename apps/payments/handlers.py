from apps.merchants.events import MerchantSaved
from apps.payments.services import merchant_replica_save
from blipay.events.envelope import EventMeta
from blipay.events.subscriptions import Subscription, register_handlers


def merchant_replica_update(event: MerchantSaved, meta: EventMeta) -> None:
    merchant_replica_save(merchant_id=event.id, name=event.name)


register_handlers("payments", [Subscription(MerchantSaved, merchant_replica_update, replayable=True)])
