from apps.merchants.events import MerchantSaved
from apps.payments.models import MerchantReplica
from blipay.events.envelope import Envelope
from blipay.events.subscriptions import Subscription, register_handlers


def merchant_replica_save(event: Envelope) -> None:
    MerchantReplica.objects.update_or_create(id=event.data["id"], defaults={"name": event.data["name"]})


register_handlers("payments", [Subscription(MerchantSaved, merchant_replica_save, replayable=True)])
