"""Celery tasks of the event backbone. They call the relay; they hold no logic of their own."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from blipay.events import inbox
from blipay.events import relay as outbox_relay
from blipay.events.errors import BrokerUnavailable

logger = logging.getLogger("blipay.events.tasks")


@shared_task(name="blipay.events.relay", ignore_result=True, bind=True)
def relay(self) -> int:  # noqa: ANN001 - Celery's bound task
    """Send every pending outbox row. Kicked after commits that emitted; swept by beat.
    A worker's task lingers a moment for the next commits; run eagerly (the embedded
    default, the tests) it would hold up the commit that kicked it, so it doesn't."""
    options = settings.BLIPAY_EVENTS
    linger = 0.0 if self.request.is_eager else options["RELAY_LINGER_SECONDS"]
    try:
        return outbox_relay.relay_until_quiet(linger=linger, poll=options["RELAY_POLL_SECONDS"])
    except BrokerUnavailable as exc:
        # Rows stay pending; the publisher backs off and the next sweep tries again.
        logger.warning("relay: broker unavailable, events stay pending: %s", exc)
        return 0


@shared_task(name="blipay.events.cleanup", ignore_result=True)
def cleanup() -> int:
    """Drop sent outbox rows and applied inbox rows past the retention period."""
    retention = timedelta(days=settings.BLIPAY_EVENTS["OUTBOX_RETENTION_DAYS"])
    return outbox_relay.delete_old_sent(older_than=retention) + inbox.delete_old_applied(older_than=retention)
