from django.db import transaction

from blipay.events.consumers import Subscription, register_handlers
from blipay.events.envelope import Envelope
from blipay.events.outbox import emit
from tests.eventsink.events import SinkPinged, SinkSaved
from tests.eventsink.models import Effect, Replica


class HandlerFailed(RuntimeError):
    pass


def replica_save(event: Envelope) -> None:
    Replica.objects.update_or_create(
        subject=event.subject, defaults={"name": event.data["name"], "sequence": event.sequence}
    )


def effect_record(event: Envelope) -> None:
    if event.data.get("fail"):
        raise HandlerFailed(f"told to fail by {event.id}")
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
