import time

from django.db import transaction

from blipay.events.envelope import Envelope
from blipay.events.outbox import emit
from blipay.events.subscriptions import Subscription, register_handlers
from tests.eventsink.events import SinkPinged, SinkSaved
from tests.eventsink.models import Effect, Replica, Switch


class HandlerFailed(RuntimeError):
    pass


def replica_save(event: Envelope) -> None:
    Replica.objects.update_or_create(
        subject=event.subject, defaults={"name": event.data["name"], "sequence": event.sequence}
    )


def effect_record(event: Envelope) -> None:
    modes = set(Switch.objects.filter(subject=event.subject).values_list("mode", flat=True))
    if Switch.FAIL in modes:
        raise HandlerFailed(f"switched to fail for {event.subject}")
    if Switch.STALL in modes:
        time.sleep(60)
    Effect.objects.create(event_id=event.id, subject=event.subject)
    if event.data.get("echo"):
        with transaction.atomic():
            emit(SinkSaved, subject=event.subject, sequence=1, data={"name": "echo"})


register_handlers(
    "sink",
    [
        Subscription(SinkSaved, replica_save, replayable=True),
        Subscription(SinkPinged, effect_record),
    ],
)
