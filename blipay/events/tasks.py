"""Celery tasks of the event backbone. They call the relay; they hold no logic of their own."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from blipay.events import inbox
from blipay.events import relay as outbox_relay
from blipay.events.errors import BrokerUnavailable

logger = logging.getLogger("blipay.events.tasks")


@shared_task(name="blipay.events.relay", ignore_result=True)
def relay() -> int:
    """Send every pending outbox row. Kicked after commits that emitted; swept by beat."""
    outbox_relay.relay_kick_taken()
    try:
        return outbox_relay.relay_in_process()
    except BrokerUnavailable as exc:
        # Rows stay pending; the publisher backs off and the next sweep tries again.
        logger.warning("relay: broker unavailable, events stay pending: %s", exc)
        return 0


@shared_task(name="blipay.events.cleanup", ignore_result=True)
def cleanup() -> int:
    """Drop sent outbox rows and applied inbox rows past the retention period."""
    retention = timedelta(days=settings.BLIPAY_EVENTS["OUTBOX_RETENTION_DAYS"])
    return outbox_relay.delete_old_sent(older_than=retention) + inbox.delete_old_applied(older_than=retention)
