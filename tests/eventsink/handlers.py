import time
from collections import Counter

from django.db import transaction

from blipay.events.envelope import EventMeta
from blipay.events.outbox import Outbound, emit
from blipay.events.subscriptions import Subscription, register_handlers
from tests.eventsink.events import SinkPinged, SinkSaved
from tests.eventsink.models import Effect, Replica, Switch


class HandlerFailed(RuntimeError):
    pass


def replica_save(event: SinkSaved, meta: EventMeta) -> None:
    Replica.objects.update_or_create(subject=meta.subject, defaults={"name": event.name, "sequence": meta.sequence})


# Event id → how many times effect_record ran for it, kept outside the database: a failed
# run's writes roll back, and tests count attempts, failed ones included.
runs: Counter[str] = Counter()


def effect_record(event: SinkPinged, meta: EventMeta) -> None:
    runs[meta.id] += 1
    modes = dict(Switch.objects.filter(subject=meta.subject).values_list("mode", "times"))
    if Switch.FAIL in modes and (modes[Switch.FAIL] == 0 or runs[meta.id] <= modes[Switch.FAIL]):
        raise HandlerFailed(f"switched to fail for {meta.subject} (run {runs[meta.id]})")
    if Switch.STALL in modes:
        time.sleep(60)
    Effect.objects.create(event_id=meta.id, subject=meta.subject)
    if event.echo:
        with transaction.atomic():
            emit(Outbound(SinkSaved(name="echo"), subject=meta.subject, sequence=1))


register_handlers(
    "sink",
    [
        Subscription(SinkSaved, replica_save, replayable=True),
        Subscription(SinkPinged, effect_record),
    ],
)
